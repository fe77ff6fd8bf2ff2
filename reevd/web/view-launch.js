// Launch: pick benchmarks × agents (agents that cannot run are shown disabled with the setting
// they miss) and epochs; one run opens its page, a matrix starts an evaluation and opens Compare.

import { agents, get, has, post } from "./api.js";
import { h } from "./dom.js";
import { go } from "./router.js";

export function mount(root, _parts, params, ctx) {
  const notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  const benchList = h("div", { class: "checklist", role: "group", "aria-label": "benchmarks" }, "Loading…");
  const agentList = h("div", { class: "checklist", role: "group", "aria-label": "agents" }, "Loading…");
  const epochs = h("input", { type: "number", name: "epochs", min: "1", max: "20", value: params.epochs || "1" });
  const summary = h("span", { class: "muted" });
  const submit = h("button", { type: "submit", class: "primary" }, "Launch");
  const preselected = new Set((params.benchmark || "").split(",").filter(Boolean));
  const preAgents = new Set((params.agent || "").split(",").filter(Boolean));

  const form = h("form", { class: "launch", onsubmit: onSubmit, onchange: count },
    h("section", { class: "panel" }, h("h2", {}, "Benchmarks",
      h("button", { type: "button", class: "small link", onclick: () => toggleAll(benchList) }, "all runnable")), benchList),
    h("section", { class: "panel" }, h("h2", {}, "Agents"), agentList,
      h("label", { class: "epochs" }, "Epochs (runs per benchmark and agent) ", epochs)),
    h("div", { class: "actions" }, submit, summary));
  root.append(h("header", { class: "view-head" }, h("h1", {}, "Launch")), notice, form);

  Promise.all([get("/benchmarks"), agents()]).then(([benches, agentRows]) => {
    benchList.replaceChildren(...benches.map((b) => option("benchmark", b.id, b.runnable,
      b.runnable ? b.description : b.reason, preselected.has(b.id))));
    agentRows.forEach((a, i) => { a.checked = preAgents.size ? preAgents.has(a.name) : i === 0 && a.runnable; });
    agentList.replaceChildren(...agentRows.map((a) => option("agent", a.name, a.runnable,
      a.runnable ? [a.provider, a.model].filter(Boolean).join(" · ") : `needs ${[].concat(a.missing || []).join(", ") || "settings"}`, a.checked)));
    count();
    ctx.ready("launch");
  }).catch((err) => { notice.textContent = `Could not load: ${err.message}`; });

  function picked(name) {
    return [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  }

  function count() {
    const n = picked("benchmark").length * picked("agent").length * Math.max(1, Number(epochs.value) || 1);
    summary.textContent = n ? `${n} run${n === 1 ? "" : "s"}` : "pick at least one benchmark and one agent";
    submit.disabled = n === 0;
  }

  async function onSubmit(e) {
    e.preventDefault();
    const benches = picked("benchmark");
    const names = picked("agent");
    const n = Math.max(1, Math.min(20, Number(epochs.value) || 1));
    submit.disabled = true;
    notice.textContent = "Starting…";
    try {
      if (benches.length === 1 && names.length === 1 && n === 1) {
        const run = await post(`/benchmarks/${encodeURIComponent(benches[0])}/run`, { agent: names[0] });
        go(`/executions/${encodeURIComponent(run.execution_id)}`);
      } else if (await has("/evals")) {
        const ev = await post("/evals", { agents: names, benchmarks: benches, epochs: n });
        go("/compare", { eval: ev.eval_id });
      } else {
        // A daemon without evaluations: start the matrix one run at a time.
        for (let i = 0; i < n; i++) {
          for (const b of benches) for (const a of names) await post(`/benchmarks/${encodeURIComponent(b)}/run`, { agent: a });
        }
        go("/compare", { agents: names.join(","), benchmarks: benches.join(",") });
      }
    } catch (err) {
      notice.textContent = `Launch failed: ${err.message}`;
      submit.disabled = false;
    }
  }
  return {};
}

function option(name, value, enabled, detail, checked) {
  const id = `${name}-${value}`;
  return h("div", { class: enabled ? "check" : "check disabled" },
    h("input", { type: "checkbox", id, name, value, disabled: !enabled, checked: enabled && checked }),
    h("label", { for: id }, h("span", { class: "mono" }, value), detail ? h("small", {}, detail) : null));
}

function toggleAll(list) {
  const boxes = [...list.querySelectorAll("input:not(:disabled)")];
  const on = boxes.some((b) => !b.checked);
  for (const b of boxes) b.checked = on;
  list.dispatchEvent(new Event("change", { bubbles: true }));
}
