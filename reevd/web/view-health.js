// Health: what GET /health reports (watcher, writer, database, runs in flight and queued).
// Re-read when the live feed says something changed, never on a timer.

import { ApiError, get } from "./api.js";
import { clear, h, localTime } from "./dom.js";

const LABELS = {
  status: "Status", watcher_alive: "Watcher", writer_alive: "Writer", db_ok: "Database",
  runs_in_flight: "Runs in flight", runs_queued: "Runs queued", uptime_s: "Uptime", version: "Version", timestamp: "Checked at",
};

export function mount(root, _parts, _params, ctx) {
  const grid = h("dl", { class: "health" });
  const notice = h("p", { class: "notice", role: "status" });
  root.append(h("header", { class: "view-head" }, h("h1", {}, "Health"),
    h("button", { type: "button", onclick: load }, "Check again")), notice, grid);
  let timer = null;

  async function load() {
    let body;
    try {
      body = await get("/health");
    } catch (err) {
      if (!(err instanceof ApiError) || !err.body) { notice.textContent = `Daemon unreachable: ${err.message}`; return; }
      body = err.body; // 503 still carries the report
    }
    notice.textContent = "";
    const known = Object.keys(LABELS).filter((k) => k in body);
    const order = [...known, ...Object.keys(body).filter((k) => !(k in LABELS))];
    clear(grid, order.map((k) => [k, body[k]]).map(([k, v]) => h("div", { class: `fact ${fact(k, v)}` },
      h("dt", {}, LABELS[k] || k), h("dd", {}, show(k, v)))));
    ctx.ready("health");
  }
  load();
  return {
    onExecution() { clearTimeout(timer); timer = setTimeout(load, 300); },
    onResync: load,
    unmount() { clearTimeout(timer); },
  };
}

function fact(key, value) {
  if (value === true || value === "healthy") return "good";
  if (value === false || value === "degraded") return "bad";
  return "";
}

function show(key, value) {
  if (typeof value === "boolean") return value ? "ok" : "down";
  if (key === "uptime_s") {
    const s = Math.round(value);
    return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
  }
  if (key === "timestamp") return localTime(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
