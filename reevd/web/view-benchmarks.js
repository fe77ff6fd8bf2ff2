// Benchmarks: the catalog with runnable / reason, one benchmark's YAML, and upload of a new one.

import { get, post } from "./api.js";
import { clear, h, pre } from "./dom.js";
import { href } from "./router.js";

export function mount(root, parts, _params, ctx) {
  return parts[0] ? detail(root, parts[0], ctx) : catalog(root, ctx);
}

function catalog(root, ctx) {
  const notice = h("p", { class: "notice", role: "status" });
  const tbody = h("tbody");
  const result = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  const text = h("textarea", { name: "yml", rows: "10", spellcheck: "false", placeholder: "id: 012-my-benchmark\ndescription: …\nprompt: …", "aria-label": "benchmark YAML" });
  const file = h("input", { type: "file", accept: ".yml,.yaml", "aria-label": "YAML file", onchange: async (e) => {
    const f = e.target.files[0];
    if (f) text.value = await f.text();
  } });
  root.append(
    h("header", { class: "view-head" }, h("h1", {}, "Benchmarks")), notice,
    h("div", { class: "table-wrap" }, h("table", { class: "catalog" },
      h("thead", {}, h("tr", {}, ["Benchmark", "Description", "Steps", "Runnable", ""].map((t) => h("th", { scope: "col" }, t)))), tbody)),
    h("section", { class: "panel" }, h("h2", {}, "Add or update a benchmark"),
      h("form", { class: "upload", onsubmit: upload }, file, text,
        h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Upload"), result))));

  async function load() {
    try {
      const list = await get("/benchmarks");
      clear(tbody, list.map((b) => h("tr", { class: b.runnable ? "" : "not-runnable" },
        h("td", { class: "mono" }, h("a", { href: href(`/benchmarks/${encodeURIComponent(b.id)}`) }, b.id)),
        h("td", {}, b.description),
        h("td", { class: "num" }, b.steps),
        h("td", {}, b.runnable ? h("span", { class: "badge status-completed" }, "yes") : h("span", { class: "reason" }, h("span", { class: "badge status-stopped" }, "no"), ` ${b.reason || ""}`)),
        h("td", {}, b.runnable ? h("a", { href: href("/launch", { benchmark: b.id }) }, "Launch") : null))));
      ctx.ready("benchmarks");
    } catch (err) {
      notice.textContent = `Could not load: ${err.message}`;
    }
  }

  async function upload(e) {
    e.preventDefault();
    result.textContent = "Uploading…";
    try {
      const r = await post("/upsert-yml", { yml_content: text.value });
      result.textContent = `${r.created ? "Added" : "Updated"} ${r.benchmark_id} (${r.file})${r.runnable ? "" : `: not runnable: ${r.reason}`}.`;
      result.className = "notice ok";
      load();
    } catch (err) {
      result.textContent = `Rejected: ${err.message}`;
      result.className = "notice err";
    }
  }
  load();
  return { onResync: load };
}

function detail(root, id, ctx) {
  const notice = h("p", { class: "notice", role: "status" });
  const body = h("div");
  root.append(h("header", { class: "view-head" }, h("h1", {}, "Benchmark ", h("span", { class: "mono" }, id)),
    h("div", { class: "head-actions" },
      h("a", { class: "button", href: "#/benchmarks" }, "All benchmarks"),
      h("a", { class: "button", href: href("/runs", { benchmark: id }) }, "Runs"),
      h("a", { class: "button primary", href: href("/launch", { benchmark: id }) }, "Launch…"))), notice, body);
  Promise.all([get("/benchmarks"), get(`/benchmarks/${encodeURIComponent(id)}/yml`)]).then(([list, yml]) => {
    const b = list.find((x) => x.id === id) || {};
    clear(body,
      h("section", { class: "cards" },
        h("div", { class: "card wide" }, h("div", { class: "label" }, "Description"), h("div", { class: "value small" }, b.description || "—")),
        h("div", { class: "card" }, h("div", { class: "label" }, "Runnable"), h("div", { class: "value small" }, b.runnable ? "yes" : `no: ${b.reason || ""}`))),
      h("section", { class: "panel" }, h("h2", {}, yml.file), pre(yml.yml_content, "tall")));
    ctx.ready("benchmark");
  }).catch((err) => {
    notice.textContent = err.status === 404 ? `No benchmark '${id}'.` : `Could not load: ${err.message}`;
  });
  return {};
}
