// The proxy and browser-pool state from /status, shown on the overview and the proxy tester.
import { h } from "../dom.js";
import { duration, num } from "../format.js";

function yesNo(v) {
  return h("span", { class: "status-line" }, h("span", { class: `dot ${v ? "ok" : ""}` }), v ? "yes" : "no");
}

function kv(rows) {
  return h("dl", { class: "kv" }, rows.filter(Boolean).map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

export function proxyConfigured(p) {
  return Boolean(p && typeof p === "object" && (p.configured || p.url || p.rotation_url));
}

export function proxyBody(p) {
  if (!proxyConfigured(p)) {
    return h("p", { class: "muted" }, "No proxy configured: modules connect directly. Set ", h("code", null, "SWEATPANTS_PROXY_URL"),
      " (or ", h("code", null, "SWEATPANTS_PROXY_ROTATION_URL"), ") to route their traffic through one.");
  }
  return kv([
    ["State", h("span", { class: "status-line" }, h("span", { class: "dot ok" }), "Configured")],
    p.url ? ["Proxy", h("code", null, p.url)] : null,
    p.rotation_url ? ["Rotation", h("code", null, p.rotation_url)] : null,
    "sticky_sessions" in p ? ["Sticky sessions", yesNo(p.sticky_sessions)] : null,
    "geo" in p ? ["Geo targeting", yesNo(p.geo)] : null,
  ]);
}

export function proxySummary(p) {
  if (!proxyConfigured(p)) return null;
  const parts = [p.url ? `through ${p.url}` : null, p.rotation_url ? `rotating via ${p.rotation_url}` : null,
    p.sticky_sessions ? "sticky sessions" : null, p.geo ? "geo targeting" : null].filter(Boolean);
  return parts.join(" · ");
}

export function browserBody(b) {
  if (!b || typeof b !== "object") {
    return h("p", { class: "muted" }, "The browser pool starts when a module with the browser capability asks for one.");
  }
  const state = b.state || "idle";
  const dot = state === "running" ? "ok" : state === "stopped" ? "bad" : "";
  const rows = [
    ["State", h("span", { class: "status-line" }, h("span", { class: `dot ${dot}` }), state === "idle" ? "Idle (starts on first use)" : state)],
    "pool_size" in b ? ["Browsers", `${num(b.alive ?? 0)} running of ${num(b.pool_size)}${b.starting ? ` · ${num(b.starting)} starting` : ""}${b.draining ? ` · ${num(b.draining)} draining` : ""}`] : null,
    "contexts_in_use" in b ? ["Contexts in use", num(b.contexts_in_use)] : null,
    "leases_served" in b ? ["Leases served", num(b.leases_served)] : null,
    b.crashes || b.restarts ? ["Crashes · restarts", `${num(b.crashes || 0)} · ${num(b.restarts || 0)}`] : null,
    b.restart_hours ? ["Recycled after", duration(b.restart_hours * 3600 * 1000)] : null,
    b.binary ? ["Binary", h("code", null, b.binary)] : null,
    b.last_error ? ["Last error", h("span", { style: { color: "var(--bad)" } }, String(b.last_error))] : null,
  ];
  return kv(rows);
}
