// Execution: one run's status, score parts, times, tokens/cost, live event timeline, flow,
// final-state assertions, model transcript, trace and transaction-log tree.

import { LiveStream, get, has, post, query } from "./api.js";
import { clear, duration, h, int, json, paintScore, pre, runDuration, score, statusBadge, timeEl, usd, localTime } from "./dom.js";
import { flowNodes, flowSvg } from "./flow.js";
import { href } from "./router.js";

const TABS = [["events", "Events"], ["transcript", "Model transcript"], ["trace", "Trace"], ["txlogs", "Transaction logs"]];
const MAX_EVENTS_SHOWN = 3000;
const ACTIVE = new Set(["Queued", "Running"]);

export function mount(root, parts, params, ctx) {
  const id = parts[0] || "";
  const eid = encodeURIComponent(id);
  let state = null;
  let stream = null;
  const events = [];
  let tab = TABS.some(([k]) => k === params.tab) ? params.tab : "events";

  const notice = h("p", { class: "notice", role: "status" });
  const head = h("header", { class: "view-head" }, h("h1", {}, "Execution ", h("span", { class: "mono small-id" }, id)));
  const summary = h("section", { class: "cards", "aria-label": "summary" });
  const assertions = h("div", { class: "panel-scroll short" }, h("p", { class: "muted" }, "—"));
  const flow = h("div", { class: "panel-scroll flow-wrap" }, h("p", { class: "muted" }, "No events yet."));
  const timeline = h("ol", { class: "timeline", "aria-live": "off" });
  const eventCount = h("span", { class: "muted" });
  const panels = {
    events: h("div", { class: "panel-scroll tall", tabindex: "0" }, timeline),
    transcript: h("div", { class: "tall-wrap" }, h("p", { class: "muted" }, "—")),
    trace: h("div", { class: "tall-wrap" }, h("p", { class: "muted" }, "—")),
    txlogs: h("div", { class: "tall-wrap" }, h("p", { class: "muted" }, "—")),
  };
  const tabButtons = TABS.map(([key, label]) => h("button", {
    type: "button", role: "tab", id: `tab-${key}`, "aria-controls": `panel-${key}`, onclick: () => select(key),
    onkeydown: (e) => {
      const i = TABS.findIndex(([k]) => k === key);
      const next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
      if (next !== null) { const k = TABS[(next + TABS.length) % TABS.length][0]; select(k); root.querySelector(`#tab-${k}`).focus(); }
    },
  }, label, key === "events" ? [" ", eventCount] : null));

  root.append(head, notice, summary,
    h("div", { class: "grid2" },
      h("section", { class: "panel" }, h("h2", {}, "Flow"), flow),
      h("section", { class: "panel" }, h("h2", {}, "Final-state assertions"), assertions)),
    h("section", { class: "panel tabs" },
      h("div", { role: "tablist", "aria-label": "details" }, tabButtons),
      TABS.map(([key]) => h("div", { role: "tabpanel", id: `panel-${key}`, "aria-labelledby": `tab-${key}` }, panels[key]))));

  function select(key) {
    tab = key;
    for (const b of tabButtons) {
      const on = b.id === `tab-${key}`;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    for (const [k] of TABS) root.querySelector(`#panel-${k}`).hidden = k !== key;
    // The tab is part of the URL (deep links) without a new history entry per click.
    history.replaceState(null, "", href(`/executions/${eid}`, key === "events" ? {} : { tab: key }));
  }
  select(tab);

  function renderSummary() {
    const fr = state.result_data?.final_result || {};
    const usage = usageOf(state);
    const active = ACTIVE.has(state.status);
    clear(head, h("h1", {}, "Execution ", h("span", { class: "mono small-id" }, id)),
      h("div", { class: "head-actions" },
        active ? h("button", { type: "button", onclick: cancel }, "Cancel") : null,
        h("a", { class: "button", href: href("/runs", { benchmark: state.benchmark_id }) }, "Runs of this benchmark")));
    const card = (label, value, extra) => h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), extra ? h("div", { class: "extra" }, extra) : null);
    clear(summary,
      card("Status", statusBadge(state.status), state.error_message ? h("span", { class: "err" }, state.error_message) : null),
      paintScore(card("Score", score(state.score), `instruction ${score(fr.instruction_score)} · on-chain ${score(fr.onchain_score)}`), state.score),
      card("Benchmark", h("a", { class: "mono", href: href(`/benchmarks/${encodeURIComponent(state.benchmark_id || "")}`) }, state.benchmark_id || "—"), `agent ${state.agent || "—"}`),
      card("Duration", duration(runDuration(state)),
        h("span", {}, "created ", timeEl(state.created_at), h("br"), "started ", state.started_at ? timeEl(state.started_at) : "—",
          h("br"), "finished ", state.finished_at ? timeEl(state.finished_at) : "—")),
      usage ? card("Tokens", int(usage.total_tokens ?? sum(usage.prompt_tokens, usage.completion_tokens)),
        `in ${int(usage.prompt_tokens)} · out ${int(usage.completion_tokens)} · ${usd(usage.cost_usd)}`
        + `${usage.requests ? ` · ${usage.requests} call${usage.requests === 1 ? "" : "s"}` : ""}${usage.model ? ` · ${usage.model}` : ""}`) : null);
    renderAssertions(fr.assertions);
  }

  function renderAssertions(list) {
    if (!Array.isArray(list) || !list.length) {
      clear(assertions, h("p", { class: "muted" }, state && ACTIVE.has(state.status) ? "Checked when the run ends." : "No final-state assertions."));
      return;
    }
    clear(assertions, h("table", { class: "assertions" },
      h("thead", {}, h("tr", {}, ["", "Check", "Account", "Expected", "Actual"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, list.map((a) => h("tr", { class: a.passed ? "pass" : "fail" },
        h("td", {}, h("span", { class: a.passed ? "badge status-completed" : "badge status-failed" }, a.passed ? "pass" : "fail")),
        h("td", {}, `${a.type || ""} ${a.comparison || ""}`),
        h("td", { class: "mono ellipsis", title: a.pubkey || "" }, a.pubkey || ""),
        h("td", { class: "num" }, fmtValue(a.expected)), h("td", { class: "num" }, fmtValue(a.actual)))))));
  }

  function addEvents(batch) {
    for (const e of batch) {
      events.push(e);
      if (events.length <= MAX_EVENTS_SHOWN) timeline.append(eventItem(e));
    }
    eventCount.textContent = `(${events.length})`;
    const nodes = flowNodes(events);
    if (nodes.length) clear(flow, flowSvg(nodes));
  }

  let pending = [];
  let scheduled = false;
  function queueEvent(e) {
    // A replay may send thousands of events: paint them in one frame, not one by one.
    pending.push(e);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(() => { scheduled = false; const batch = pending; pending = []; addEvents(batch); });
    }
  }

  async function loadDetails() {
    if (!state || !state.benchmark_id) return;
    const b = encodeURIComponent(state.benchmark_id);
    get(`/execution-logs/${b}${query({ execution_id: id })}`)
      .then((r) => clear(panels.trace, traceBlock(r.trace || r.message || "(empty)")))
      .catch((err) => clear(panels.trace, h("p", { class: "err" }, err.message)));
    get(`/transaction-logs/${b}${query({ execution_id: id, show_cu: "true" })}`)
      .then((r) => clear(panels.txlogs, pre(r.transaction_logs || r.message || "No transaction ran yet.", "tall txlogs")))
      .catch((err) => clear(panels.txlogs, h("p", { class: "err" }, err.message)));
    if (state.agent === "deterministic" || !(await has("/executions/{execution_id}/llm"))) {
      clear(panels.transcript, h("p", { class: "muted" }, state.agent === "deterministic"
        ? "The deterministic agent calls no model." : "This daemon does not record model transcripts."));
      return;
    }
    loadTranscript()
      .then((r) => clear(panels.transcript, transcript(r)))
      .catch((err) => clear(panels.transcript, h("p", { class: "muted" }, err.status === 404 ? "No model transcript for this run." : err.message)));
  }

  // The transcript comes in pages bounded in bytes; follow them, up to a bound the page can hold.
  async function loadTranscript() {
    const calls = [];
    let after = -1;
    for (let page = 0; page < TRANSCRIPT_MAX_PAGES; page += 1) {
      const r = await get(`/executions/${eid}/llm${query({ after: String(after) })}`);
      calls.push(...(r.calls || []));
      if (!r.has_more) return { calls, truncated: false };
      after = r.next_after;
    }
    return { calls, truncated: true };
  }

  async function cancel(e) {
    e.target.disabled = true;
    try { await post(`/executions/${eid}/cancel`); } catch (err) { notice.textContent = `Cancel failed: ${err.message}`; }
  }

  function openStream() {
    if (stream) stream.close();
    stream = new LiveStream(`/api/v1/executions/${eid}/stream`, {
      resumable: true,
      events: {
        otel: queueEvent,
        status: (final) => {
          stream.close();
          state = final;
          renderSummary();
          loadDetails();
        },
      },
      onResync: refresh,
    });
  }

  async function refresh() {
    try {
      state = await get(`/executions/${eid}`);
      renderSummary();
      loadDetails();
      ctx.ready("execution");
      return true;
    } catch (err) {
      notice.textContent = err.status === 404 ? `No execution '${id}'.` : `Could not load: ${err.message}`;
      return false;
    }
  }

  refresh().then((ok) => { if (ok) openStream(); });

  return {
    onExecution(s) {
      if (s.execution_id !== id) return;
      const wasActive = state && ACTIVE.has(state.status);
      state = s;
      renderSummary();
      if (wasActive && !ACTIVE.has(s.status)) loadDetails();
    },
    onResync: () => { refresh(); },
    unmount() { if (stream) stream.close(); },
  };
}

function sum(a, b) {
  return a === undefined || a === null || b === undefined || b === null ? null : a + b;
}

function fmtValue(v) {
  return typeof v === "number" ? v.toLocaleString() : v === undefined || v === null ? "—" : JSON.stringify(v);
}

// Where a run's LLM usage lives depends on the agent: look in the known places.
export function usageOf(state) {
  const rd = state.result_data || {};
  const fr = rd.final_result || {};
  for (const [u, cost] of [[rd.llm?.usage, rd.llm?.cost_usd], [state.usage, state.cost_usd], [rd.usage, rd.cost_usd], [fr.usage, fr.cost_usd],
    [state.metadata?.usage, state.metadata?.cost_usd]]) {
    if (u && typeof u === "object" && (u.total_tokens || u.prompt_tokens)) return { cost_usd: cost ?? u.cost_usd ?? null, model: rd.llm?.model, ...u };
  }
  return null;
}

function eventItem(e) {
  const ev = e.event || {};
  let text = "";
  let body = null;
  switch (e.event_type) {
    case "Prompt": text = ev.prompt?.user_prompt || ""; body = ev.prompt; break;
    case "ToolInput": text = ev.tool_input?.tool_name || e.tool_name || ""; body = ev.tool_input?.tool_args ?? ev.tool_input; break;
    case "ToolOutput": text = ev.tool_output?.success === false ? `failed: ${ev.tool_output?.error_message || ""}` : "ok"; body = ev.tool_output; break;
    case "StepComplete": text = `step ${ev.metadata?.step ?? ""} · ${ev.metadata?.transaction_status || ""} ${ev.metadata?.error || ""}`; break;
    case "SessionComplete": text = `${ev.metadata?.status || ""} · score ${score(ev.metadata?.score)}`; break;
    default: text = e.tool_name || ""; body = ev;
  }
  const ms = ev.timing?.flow_timeuse_ms;
  return h("li", { class: `ev ev-${String(e.event_type).toLowerCase()}`, dataset: { offset: e.offset } },
    h("span", { class: "ev-time mono", title: e.timestamp || "" }, e.timestamp ? localTime(e.timestamp, false) : "", ms !== undefined ? h("small", {}, ` +${ms} ms`) : null),
    h("span", { class: "ev-type" }, e.event_type),
    body ? h("details", {}, h("summary", {}, text || "details"), pre(json(body), "inner")) : h("span", { class: "ev-text" }, text));
}

function traceBlock(text) {
  const lines = String(text).split("\n").map((line) => {
    let cls = "";
    if (/✅|Succeeded/.test(line)) cls = "ok";
    else if (/❌|Failed|Error:/.test(line)) cls = "err";
    else if (/Step/.test(line)) cls = "step";
    else if (/ACTION:/.test(line)) cls = "action";
    return h("span", { class: cls }, `${line}\n`);
  });
  return h("pre", { class: "panel-scroll tall trace", tabindex: "0" }, lines);
}

// The model transcript: each call's new messages (a request repeats the conversation so far),
// then the model's reply, with step, turn, tokens and latency.
const TRANSCRIPT_MAX_PAGES = 8;

function transcript(data) {
  const list = (data.calls || data.exchanges || []).map((c) => c.call || c);
  if (!list.length) return h("p", { class: "muted" }, "No model calls recorded.");
  if (data.truncated) {
    return h("div", {}, [
      h("p", { class: "muted" }, `Showing the first ${list.length} model calls; the rest are at /api/v1/executions/{id}/llm.`),
      transcriptList(list),
    ]);
  }
  return transcriptList(list);
}

function transcriptList(list) {
  const seen = new Map(); // step -> messages already shown
  return h("div", { class: "panel-scroll tall", tabindex: "0" }, list.map((x, i) => {
    const req = x.request || {};
    const res = x.response || null;
    const messages = Array.isArray(req.messages) ? req.messages : [];
    const shown = seen.get(x.step) || 0;
    seen.set(x.step, messages.length);
    const fresh = messages.slice(shown).filter((m, j) => !(shown && j === 0 && m.role === "assistant"));
    const usage = x.usage || res?.usage;
    return h("article", { class: "exchange" },
      h("h3", {}, `Call ${i + 1}`, x.step !== undefined ? ` · step ${x.step}` : "", x.turn !== undefined ? ` · turn ${x.turn}` : "",
        h("span", { class: "muted" }, [req.model ? ` · ${req.model}` : "",
          usage ? ` · ${int(usage.prompt_tokens)} in / ${int(usage.completion_tokens)} out` : "",
          x.latency_ms !== undefined ? ` · ${duration(x.latency_ms)}` : "", x.cached ? " · cached" : ""].join(""))),
      fresh.map((m) => message(m.role, m.content, m.tool_calls)),
      res ? (res.choices || []).map((c) => message("assistant (reply)", c.message?.content, c.message?.tool_calls)) : null,
      x.error ? h("p", { class: "err" }, typeof x.error === "string" ? x.error : json(x.error)) : null);
  }));
}

function message(role, content, toolCalls) {
  const text = typeof content === "string" ? content : content ? json(content) : "";
  const calls = (toolCalls || []).map((t) => `${t.function?.name || "?"}(${t.function?.arguments ?? ""})`).join("\n");
  return h("div", { class: `msg msg-${String(role).split(" ")[0]}` }, h("div", { class: "role" }, role),
    text ? h("div", { class: "content" }, text) : null,
    calls ? h("pre", { class: "inner calls" }, calls) : null);
}
