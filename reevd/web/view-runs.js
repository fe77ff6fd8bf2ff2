// Runs: executions newest first, filtered by benchmark / agent / status, paged with the API's
// keyset cursor, updated in place from the live feed; queued and running ones can be cancelled.

import { agents, get, markPainted, post, query } from "./api.js";
import { clear, duration, h, int, paintScore, runDuration, score, statusBadge, timeEl } from "./dom.js";
import { go, href } from "./router.js";

const STATUSES = ["Queued", "Running", "Completed", "Failed", "Stopped", "Timeout"];
const PAGE = 50;
const ACTIVE = new Set(["Queued", "Running"]);

export function mount(root, _parts, params, ctx) {
  const filters = { benchmark: params.benchmark || "", agent: params.agent || "", status: params.status || "" };
  const cursor = params.cursor || "";
  const rows = new Map();
  const notice = h("p", { class: "notice", role: "status" });
  const tbody = h("tbody");
  const pager = h("nav", { class: "pager", "aria-label": "pages" });

  const select = (name, label, options) => h("label", {}, label,
    h("select", { name, onchange: (e) => go("/runs", { ...filters, [name]: e.target.value }) },
      h("option", { value: "" }, "all"),
      options.map((o) => h("option", { value: o, selected: o === filters[name] }, o))));
  const benchSel = select("benchmark", "Benchmark", filters.benchmark ? [filters.benchmark] : []);
  const agentSel = select("agent", "Agent", filters.agent ? [filters.agent] : []);

  root.append(
    h("header", { class: "view-head" }, h("h1", {}, "Runs"),
      h("a", { class: "button primary", href: "#/launch" }, "Launch…")),
    h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      benchSel, agentSel, select("status", "Status", STATUSES),
      (filters.benchmark || filters.agent || filters.status) ? h("a", { href: "#/runs" }, "clear filters") : null),
    notice,
    h("div", { class: "table-wrap" }, h("table", { class: "runs" },
      h("colgroup", {}, ["c-time", "c-bench", "c-agent", "c-status", "c-score", "c-dur", "c-events", "c-act"].map((c) => h("col", { class: c }))),
      h("thead", {}, h("tr", {}, ["Created", "Benchmark", "Agent", "Status", "Score", "Duration", "Events", ""].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    pager);

  // Options for the filters arrive after the first page: the table does not wait for them.
  get("/benchmarks").then((list) => fillOptions(benchSel, list.map((b) => b.id), filters.benchmark)).catch(() => {});
  agents().then((list) => fillOptions(agentSel, list.map((a) => a.name), filters.agent)).catch(() => {});

  function matches(state) {
    return (!filters.benchmark || state.benchmark_id === filters.benchmark)
      && (!filters.agent || state.agent === filters.agent)
      && (!filters.status || state.status === filters.status);
  }

  function rowFor(state) {
    const active = ACTIVE.has(state.status);
    const cancel = active ? h("button", { type: "button", class: "small", onclick: async (e) => {
      e.target.disabled = true;
      try { await post(`/executions/${encodeURIComponent(state.execution_id)}/cancel`); }
      catch (err) { notice.textContent = `Cancel failed: ${err.message}`; e.target.disabled = false; }
    } }, "Cancel") : null;
    const link = href(`/executions/${encodeURIComponent(state.execution_id)}`);
    return h("tr", { dataset: { id: state.execution_id, status: state.status } },
      h("td", {}, h("a", { href: link, title: state.execution_id }, timeEl(state.created_at))),
      h("td", { class: "ellipsis" }, h("a", { href: href("/runs", { ...filters, benchmark: state.benchmark_id }) }, state.benchmark_id || "—")),
      h("td", { class: "ellipsis" }, state.agent || "—"),
      h("td", {}, statusBadge(state.status)),
      paintScore(h("td", { class: "num score-cell" }, score(state.score)), state.score),
      h("td", { class: "num" }, duration(runDuration(state))),
      h("td", { class: "num" }, int(state.events_count)),
      h("td", {}, cancel));
  }

  function render(list) {
    rows.clear();
    clear(tbody, list.map((s) => { const tr = rowFor(s); rows.set(s.execution_id, tr); return tr; }));
    if (!list.length) tbody.append(h("tr", { class: "empty" }, h("td", { colspan: "8" }, "No runs yet. Launch one.")));
  }

  let loading = 0;
  async function load() {
    const mine = ++loading;
    try {
      const page = await get(`/executions${query({ ...filters, limit: PAGE, cursor })}`);
      if (mine !== loading) return;
      render(page.executions);
      clear(pager,
        cursor ? h("a", { class: "button", href: href("/runs", filters) }, "⇤ Newest") : null,
        page.next_cursor ? h("a", { class: "button", href: href("/runs", { ...filters, cursor: page.next_cursor }) }, "Older →") : null);
      notice.textContent = "";
      ctx.ready("runs");
    } catch (err) {
      notice.textContent = `Could not load runs: ${err.message}`;
    }
  }
  load();

  return {
    onExecution(state) {
      const existing = rows.get(state.execution_id);
      if (existing) {
        if (!matches(state)) return;
        const fresh = rowFor(state);
        existing.replaceWith(fresh);
        rows.set(state.execution_id, fresh);
      } else if (!cursor && matches(state)) {
        tbody.querySelector("tr.empty")?.remove();
        const fresh = rowFor(state);
        tbody.prepend(fresh);
        rows.set(state.execution_id, fresh);
        while (rows.size > PAGE) {
          const last = tbody.lastElementChild;
          rows.delete(last.dataset.id);
          last.remove();
        }
      } else {
        return;
      }
      markPainted(state.execution_id, state.status);
    },
    onResync: load,
  };
}

function fillOptions(sel, values, chosen) {
  const select = sel.querySelector("select");
  const have = new Set([...select.options].map((o) => o.value));
  for (const v of values) if (!have.has(v)) select.append(h("option", { value: v, selected: v === chosen }, v));
}
