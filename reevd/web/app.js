// The dashboard shell: header, navigation, connection state, one global live feed, and the
// view that matches the URL.

import { LiveStream, onConnection } from "./api.js";
import { clear, h } from "./dom.js";
import { parse } from "./router.js";
import * as benchmarks from "./view-benchmarks.js";
import * as compare from "./view-compare.js";
import * as execution from "./view-execution.js";
import * as health from "./view-health.js";
import * as launch from "./view-launch.js";
import * as runs from "./view-runs.js";

const VIEWS = [
  { key: "runs", label: "Runs", view: runs },
  { key: "launch", label: "Launch", view: launch },
  { key: "compare", label: "Compare", view: compare },
  { key: "benchmarks", label: "Benchmarks", view: benchmarks },
  { key: "health", label: "Health", view: health },
];
const BY_KEY = Object.fromEntries(VIEWS.map((v) => [v.key, v.view]));
BY_KEY.executions = execution;

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const conn = document.getElementById("conn");
let current = null;

for (const v of VIEWS) nav.append(h("a", { href: `#/${v.key}`, dataset: { view: v.key } }, v.label));

onConnection((live) => {
  conn.textContent = live ? "live" : "reconnecting…";
  conn.className = live ? "conn live" : "conn reconnecting";
  conn.title = live ? "Connected: updates arrive as they happen" : "Connection lost; reconnecting to the daemon";
});

// One feed of every execution change for the whole page; the current view decides what to do.
new LiveStream("/api/v1/stream", {
  events: {
    execution: (state) => current && current.onExecution && current.onExecution(state),
    eval: (progress) => current && current.onEval && current.onEval(progress),
  },
  onResync: () => current && current.onResync && current.onResync(),
});

function route() {
  const started = performance.now();
  const { parts, params } = parse();
  // Own keys only: "#/constructor" or "#/__proto__" must not reach Object.prototype.
  const key = Object.hasOwn(BY_KEY, parts[0] || "") ? parts[0] : "runs";
  if (current && current.unmount) current.unmount();
  for (const a of nav.querySelectorAll("a")) {
    a.toggleAttribute("aria-current", a.dataset.view === key || (key === "executions" && a.dataset.view === "runs"));
  }
  const root = clear(main);
  main.dataset.view = key;
  current = BY_KEY[key].mount(root, parts.slice(1), params, {
    ready: (name) => {
      const ms = performance.now() - started;
      window.reevdTimings.push({ view: name || key, ms, sinceLoad: performance.now() });
      main.dataset.ready = key;
    },
  });
  main.focus({ preventScroll: true });
}

window.reevdTimings = [];
window.addEventListener("hashchange", () => { delete main.dataset.ready; route(); });
route();
