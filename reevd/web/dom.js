// Small DOM and formatting helpers. Everything is built with createElement/textContent:
// no innerHTML, so nothing from the API is ever parsed as markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Times arrive as RFC 3339 UTC; people read them in their own time zone.
export function localTime(iso, withDate = true) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const time = d.toLocaleTimeString(undefined, { hour12: false });
  if (!withDate) return time;
  const today = new Date().toDateString() === d.toDateString();
  return today ? `today ${time}` : `${d.toLocaleDateString()} ${time}`;
}

export function timeEl(iso, withDate = true) {
  return h("time", { datetime: iso || undefined, title: iso || undefined }, localTime(iso, withDate));
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function runDuration(state) {
  const measured = state.result_data?.final_result?.execution_time_ms;
  if (typeof measured === "number") return measured; // the runner's own clock, in ms
  const start = state.started_at || state.created_at;
  if (!start || !state.finished_at) return null;
  return Math.max(0, new Date(state.finished_at) - new Date(start));
}

export function score(value, digits = 3) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

export function int(value) {
  return value === null || value === undefined ? "—" : Number(value).toLocaleString();
}

export function usd(value) {
  if (value === null || value === undefined) return "—";
  return value < 0.01 ? `$${Number(value).toFixed(5)}` : `$${Number(value).toFixed(3)}`;
}

export function statusBadge(status) {
  return h("span", { class: `badge status-${String(status || "none").toLowerCase()}` }, status || "—");
}

// A 0..1 score as a colour on a red → amber → green scale (set through CSSOM, CSP-safe).
export function paintScore(el, value) {
  if (value === null || value === undefined) {
    el.classList.add("no-score");
    return el;
  }
  el.style.setProperty("--hue", String(Math.round(Math.max(0, Math.min(1, value)) * 120)));
  el.classList.add("scored");
  return el;
}

export function pre(text, cls = "") {
  return h("pre", { class: `panel-scroll ${cls}`, tabindex: "0" }, text);
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}
