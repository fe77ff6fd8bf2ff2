// The flow of a run drawn as SVG from its events: prompt → tool calls → steps → result.
// Built with DOM calls (no Mermaid bundle, nothing inline that a CSP would block).

import { svg } from "./dom.js";

const W = 300;
const H = 42;
const GAP = 22;

export function flowNodes(events) {
  const nodes = [];
  for (const e of events) {
    const ev = e.event || {};
    const type = e.event_type;
    if (type === "Prompt") {
      nodes.push({ kind: "prompt", title: "Prompt", detail: ev.prompt?.user_prompt || "" });
    } else if (type === "ToolInput") {
      nodes.push({ kind: "tool", title: `tool: ${ev.tool_input?.tool_name || e.tool_name || "?"}`, detail: "", ok: null });
    } else if (type === "ToolOutput") {
      const last = [...nodes].reverse().find((n) => n.kind === "tool" && n.ok === null);
      const out = ev.tool_output || {};
      if (last) {
        last.ok = out.success !== false;
        const r = out.results;
        last.detail = out.success === false ? (out.error_message || "failed")
          : Array.isArray(r) ? `${r.length} instruction(s)` : r && r.status ? String(r.status) : "ok";
      }
    } else if (type === "StepComplete") {
      const md = ev.metadata || {};
      nodes.push({ kind: "step", title: `Step ${md.step ?? ""}`, detail: md.transaction_status || md.error || "",
        ok: md.transaction_status ? md.transaction_status === "Success" : null });
    } else if (type === "SessionComplete") {
      const md = ev.metadata || {};
      nodes.push({ kind: "result", title: `Result: ${md.status || ""}`,
        detail: md.score !== undefined && md.score !== null ? `score ${Number(md.score).toFixed(3)}` : (md.error || ""),
        ok: md.success === true });
    }
  }
  return nodes;
}

export function flowSvg(nodes) {
  const height = Math.max(1, nodes.length) * (H + GAP);
  const root = svg("svg", { class: "flow", viewBox: `0 0 ${W + 20} ${height}`, width: W + 20, height, role: "img",
    "aria-label": `flow of ${nodes.length} steps` });
  root.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5",
    markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))));
  nodes.forEach((n, i) => {
    const y = i * (H + GAP) + 2;
    const state = n.ok === true ? "ok" : n.ok === false ? "bad" : "plain";
    const g = svg("g", { class: `node node-${n.kind} node-${state}` });
    g.append(svg("rect", { x: 10, y, width: W, height: H, rx: 8 }));
    const title = svg("text", { x: 22, y: y + 17, class: "node-title" });
    title.textContent = n.title;
    const detail = svg("text", { x: 22, y: y + 33, class: "node-detail" });
    detail.textContent = n.detail.length > 46 ? `${n.detail.slice(0, 45)}…` : n.detail;
    const tip = svg("title");
    tip.textContent = `${n.title}\n${n.detail}`;
    g.append(tip, title, detail);
    root.append(g);
    if (i < nodes.length - 1) {
      root.append(svg("line", { x1: 10 + W / 2, y1: y + H, x2: 10 + W / 2, y2: y + H + GAP - 2, class: "edge", "marker-end": "url(#arrow)" }));
    }
  });
  return root;
}
