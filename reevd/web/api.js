// The API client: JSON fetches, feature detection from the daemon's own OpenAPI document,
// and live streams (EventSource) that resume after a restart and report their connection state.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function request(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path.startsWith("/") && !path.startsWith(API) ? API + path : path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text.slice(0, 300) };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body ?? {});

export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") q.set(key, value);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

// Which optional routes this daemon serves (evals, compare, transcripts arrive with newer
// daemons): asked once, so the page never probes with requests that 404.
let features = null;
export async function routes() {
  if (!features) {
    features = get("/openapi.json")
      .then((doc) => new Set(Object.keys(doc.paths || {})))
      .catch(() => new Set());
  }
  return features;
}
export async function has(route) {
  return (await routes()).has(API + route);
}

// Agents with what keeps each from running: {"agents": [{name, runnable, missing, ...}]} with
// ?detail=true; a daemon without details answers its upstream-style list of names.
export async function agents() {
  const body = await get("/agents?detail=true");
  const list = Array.isArray(body) ? body : body.agents || [];
  return list.map((a) => (typeof a === "string"
    ? { name: a, runnable: true, missing: [] }
    : { name: a.name ?? a.agent ?? a.id, runnable: a.runnable !== false, missing: a.missing || [], ...a }));
}

// ---- live connection state, shown in the header -------------------------------------------
const listeners = new Set();
const down = new Set();
export function onConnection(fn) {
  listeners.add(fn);
  fn(down.size === 0);
}
function setDown(stream, isDown) {
  const before = down.size === 0;
  if (isDown) down.add(stream);
  else down.delete(stream);
  const now = down.size === 0;
  if (before !== now) for (const fn of listeners) fn(now);
}

/**
 * One SSE stream that survives daemon restarts.
 * - The browser reconnects by itself after a dropped connection and sends Last-Event-ID.
 * - If it gives up (readyState CLOSED: e.g. an HTTP error while the daemon restarts), we open
 *   a new EventSource after a back-off timer, resuming with ?after=<last id>.
 * - onResync() runs when a connection comes back after a loss: the view re-reads what it shows.
 */
export class LiveStream {
  constructor(url, { events = {}, onResync = null, resumable = false } = {}) {
    this.url = url;
    this.events = events;
    this.onResync = onResync;
    this.resumable = resumable;
    this.lastId = null;
    this.lost = false;
    this.delay = 500;
    this.timer = null;
    this.closed = false;
    this.open();
  }

  open() {
    let url = this.url;
    if (this.resumable && this.lastId !== null) url += (url.includes("?") ? "&" : "?") + `after=${encodeURIComponent(this.lastId)}`;
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener("open", () => {
      this.delay = 500;
      setDown(this, false);
      if (this.lost) {
        this.lost = false;
        if (this.onResync) this.onResync();
      }
    });
    source.addEventListener("error", () => {
      if (this.closed) return;
      this.lost = true;
      setDown(this, true);
      if (source.readyState === EventSource.CLOSED) this.retry();
    });
    for (const [name, handler] of Object.entries(this.events)) {
      source.addEventListener(name, (message) => {
        if (message.lastEventId) this.lastId = message.lastEventId;
        handler(JSON.parse(message.data), message);
      });
    }
  }

  retry() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (!this.closed) this.open(); }, this.delay);
    this.delay = Math.min(this.delay * 2, 5000);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    setDown(this, false);
  }
}

// Where the page logs when it painted a change (perf/dashboard_perf.py reads it).
export const paintLog = [];
window.reevdPaintLog = paintLog;
export function markPainted(executionId, status) {
  requestAnimationFrame(() => {
    paintLog.push({ id: executionId, status, at: performance.timeOrigin + performance.now() });
    if (paintLog.length > 2000) paintLog.splice(0, 1000);
  });
}
