// Compare: agents × benchmarks, each cell the mean score (coloured), pass rate, tokens, cost and
// latency; a cell links to its runs. From an evaluation (?eval=), from GET /compare, or, on a
// daemon without those routes, from the finished runs it reports per agent.

import { get, has, query } from "./api.js";
import { clear, duration, h, int, paintScore, percent, score, usd, localTime } from "./dom.js";
import { go, href } from "./router.js";

const TERMINAL = new Set(["Completed", "Failed", "Stopped", "Timeout"]);

export function mount(root, _parts, params, ctx) {
  const notice = h("p", { class: "notice", role: "status" });
  const picker = h("div", { class: "filters" });
  const meta = h("p", { class: "muted meta" });
  const matrix = h("div", { class: "matrix-wrap" });
  root.append(h("header", { class: "view-head" }, h("h1", {}, "Compare"),
    h("a", { class: "button primary", href: "#/launch" }, "New evaluation…")), picker, meta, notice, matrix);

  const wanted = (key) => (params[key] || "").split(",").filter(Boolean);
  let timer = null;

  async function evalPicker() {
    if (!(await has("/evals"))) return;
    const { evals } = await get("/evals");
    const sel = h("select", { class: "wide", onchange: (e) => go("/compare", e.target.value ? { eval: e.target.value } : {}) },
      h("option", { value: "" }, "all finished runs"),
      evals.map((ev) => h("option", { value: ev.eval_id, selected: ev.eval_id === params.eval },
        `${localTime(ev.created_at)} · ${ev.agents.join(", ")} · ${ev.finished}/${ev.runs} ${ev.status}`)));
    clear(picker, h("label", {}, "Evaluation ", sel));
  }

  async function cells() {
    if (params.eval && (await has("/evals/{eval_id}"))) {
      const ev = await get(`/evals/${encodeURIComponent(params.eval)}`);
      meta.textContent = `Evaluation ${ev.eval_id}: ${ev.finished}/${ev.runs} runs finished · ${ev.epochs} epoch(s) · ${ev.status}`;
      return ev.cells;
    }
    if (await has("/compare")) {
      meta.textContent = "All finished runs.";
      return (await get(`/compare${query({ agents: params.agents, benchmarks: params.benchmarks })}`)).cells;
    }
    meta.textContent = "All finished runs (this daemon has no /compare: tokens and cost are not available).";
    return fromPerformance(await get("/agent-performance"));
  }

  async function load() {
    try {
      let list = await cells();
      const agents = wanted("agents");
      const benches = wanted("benchmarks");
      if (agents.length) list = list.filter((c) => agents.includes(c.agent));
      if (benches.length) list = list.filter((c) => benches.includes(c.benchmark_id));
      clear(matrix, table(list));
      notice.textContent = "";
      ctx.ready("compare");
    } catch (err) {
      notice.textContent = `Could not load: ${err.message}`;
    }
  }
  evalPicker().catch(() => {});
  load();

  return {
    // A run that ends changes a mean: re-read, at most a few times a second under a burst.
    onExecution(state) {
      if (!TERMINAL.has(state.status)) return;
      clearTimeout(timer);
      timer = setTimeout(load, 250);
    },
    // An evaluation's progress frame (daemons with evals): the header and cells follow it.
    onEval(progress) {
      if (!params.eval || progress.eval_id !== params.eval) return;
      clearTimeout(timer);
      timer = setTimeout(load, 250);
    },
    onResync: load,
    unmount() { clearTimeout(timer); },
  };
}

function table(cells) {
  if (!cells.length) return h("p", { class: "muted" }, "No finished runs to compare yet.");
  const agents = [...new Set(cells.map((c) => c.agent))].sort();
  const benches = [...new Set(cells.map((c) => c.benchmark_id))].sort();
  const at = new Map(cells.map((c) => [`${c.agent}\u0000${c.benchmark_id}`, c]));
  const totals = agents.map((a) => summarize(cells.filter((c) => c.agent === a)));
  return h("table", { class: "matrix" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "benchmark \\ agent"), agents.map((a) => h("th", { scope: "col", class: "mono" }, a)))),
    h("tbody", {},
      benches.map((b) => h("tr", {}, h("th", { scope: "row", class: "mono" }, h("a", { href: href(`/benchmarks/${encodeURIComponent(b)}`) }, b)),
        agents.map((a) => cell(at.get(`${a}\u0000${b}`), a, b)))),
      h("tr", { class: "totals" }, h("th", { scope: "row" }, "all benchmarks"), totals.map((t, i) => cell(t, agents[i], null)))));
}

function cell(c, agent, bench) {
  if (!c) return h("td", { class: "cell empty" }, "—");
  const link = href("/runs", { agent, benchmark: bench || "" });
  const tokens = c.total_tokens ?? null;
  return paintScore(h("td", { class: "cell", dataset: { agent, benchmark: bench || "*" } },
    h("a", { href: link, title: `runs of ${agent}${bench ? ` on ${bench}` : ""}` },
      h("span", { class: "mean" }, score(c.mean_score, 2)),
      c.stderr !== undefined && c.stderr !== null ? h("span", { class: "stderr" }, ` ±${Number(c.stderr).toFixed(2)}`) : null,
      h("span", { class: "facts" },
        `${percent(c.pass_rate)} pass · ${c.finished ?? c.runs} run${(c.finished ?? c.runs) === 1 ? "" : "s"}`, h("br"),
        noModel(c) ? "no model calls" : `${tokens !== null ? `${int(tokens)} tok` : "— tok"} · ${usd(c.cost_usd)} · ${duration(c.mean_latency_ms)}`))), c.mean_score);
}

// A deterministic agent's cell: zero tokens and no cost, nothing to show but that.
function noModel(c) {
  return !c.total_tokens && (c.cost_usd === null || c.cost_usd === undefined) && (c.mean_latency_ms === null || c.mean_latency_ms === undefined);
}

// Per-agent totals across the benchmarks shown (weighted by finished runs).
function summarize(list) {
  const n = list.reduce((s, c) => s + (c.finished ?? c.runs ?? 0), 0);
  if (!n) return null;
  const w = (key) => {
    const parts = list.filter((c) => c[key] !== null && c[key] !== undefined);
    const m = parts.reduce((s, c) => s + (c.finished ?? c.runs ?? 0), 0);
    return m ? parts.reduce((s, c) => s + c[key] * (c.finished ?? c.runs ?? 0), 0) / m : null;
  };
  const add = (key) => (list.some((c) => c[key] !== null && c[key] !== undefined) ? list.reduce((s, c) => s + (c[key] || 0), 0) : null);
  return { runs: n, finished: n, mean_score: w("mean_score"), pass_rate: w("pass_rate"), mean_latency_ms: w("mean_latency_ms"),
    total_tokens: add("total_tokens"), cost_usd: add("cost_usd") };
}

// A daemon without /compare: the same cells from GET /agent-performance's per-run results.
export function fromPerformance(perf) {
  const groups = new Map();
  for (const agent of perf) {
    for (const r of agent.results || []) {
      const key = `${agent.agent_type}\u0000${r.benchmark_id}`;
      if (!groups.has(key)) groups.set(key, { agent: agent.agent_type, benchmark_id: r.benchmark_id, results: [] });
      groups.get(key).results.push(r);
    }
  }
  return [...groups.values()].map((g) => {
    const n = g.results.length;
    const lat = g.results.filter((r) => r.execution_time_ms !== null && r.execution_time_ms !== undefined);
    return {
      agent: g.agent, benchmark_id: g.benchmark_id, runs: n, finished: n,
      mean_score: g.results.reduce((s, r) => s + r.score, 0) / n,
      pass_rate: g.results.filter((r) => r.final_status === "Succeeded").length / n,
      mean_latency_ms: lat.length ? lat.reduce((s, r) => s + r.execution_time_ms, 0) / lat.length : null,
      total_tokens: null, cost_usd: null,
    };
  });
}
