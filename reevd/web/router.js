// Hash routing: every view has its own URL (#/runs?agent=x, #/executions/<id>, ...), so deep
// links, reloads and back/forward work with a plain static page and no server-side fallback.

export function parse(hash = location.hash) {
  const raw = hash.replace(/^#/, "") || "/runs";
  const [path, search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodePart);
  return { parts, params: Object.fromEntries(new URLSearchParams(search)) };
}

// A hand-typed or crafted link ("#/runs/%E0") must not throw: keep what cannot be decoded as is.
function decodePart(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function href(path, params = {}) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") q.set(key, value);
  }
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ""}`;
}

export function go(path, params = {}) {
  const target = href(path, params);
  if (location.hash !== target) location.hash = target;
}
