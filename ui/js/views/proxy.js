// Proxy tester: send one request through the configured proxy (POST /proxy-fetch).
import { api } from "../api.js";
import { h, card, button, notice } from "../dom.js";
import { bytes, num } from "../format.js";
import { proxySummary } from "../components/services.js";
import { clearErrors, setFieldError, showError, findField } from "../components/fields.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
const PREVIEW = 200_000;

export default async function proxy(ctx) {
  const { root, scope } = ctx;
  ctx.setTitle("Proxy tester");

  const stateHost = h("div");
  const resultHost = h("div", { id: "proxy-result", "aria-live": "polite" });
  const general = h("div");
  const submit = button("Send request", { kind: "primary", type: "submit", icon: "arrowRight", attrs: { id: "proxy-submit" } });

  const field = (name, label, control, help) => h("div", { class: "field", dataset: { field: name } },
    h("label", { class: "field-label", for: control.id }, label), control, help ? h("span", { class: "help" }, help) : null);

  const form = h("form", { class: "form", novalidate: true, id: "proxy-form" },
    general,
    h("div", { class: "row" },
      h("div", { class: "field", dataset: { field: "method" }, style: { flex: "0 0 120px" } },
        h("label", { class: "field-label", for: "px-method" }, "Method"),
        h("select", { class: "select", id: "px-method", name: "method" }, METHODS.map((m) => h("option", { value: m }, m)))),
      field("url", "URL", h("input", { class: "input", id: "px-url", name: "url", type: "url", placeholder: "https://example.com/", autocomplete: "off", spellcheck: "false" }))),
    h("div", { class: "row" },
      field("headers", "Headers", h("textarea", { class: "textarea", id: "px-headers", name: "headers", rows: 3, spellcheck: "false", placeholder: "Accept: application/json\nX-Debug: 1" }), "One “Name: value” per line, or a JSON object."),
      field("body", "Body", h("textarea", { class: "textarea", id: "px-body", name: "body", rows: 3, spellcheck: "false", placeholder: "Request body (optional)" }))),
    h("div", { class: "row" },
      field("timeout", "Timeout (seconds)", h("input", { class: "input", id: "px-timeout", name: "timeout", inputmode: "numeric", value: "60" })),
      field("session_id", "Session id", h("input", { class: "input", id: "px-session", name: "session_id", autocomplete: "off", placeholder: "sticky session (optional)" })),
      field("geo", "Geo", h("input", { class: "input", id: "px-geo", name: "geo", autocomplete: "off", placeholder: "e.g. us (optional)" }))),
    h("div", { class: "field", dataset: { field: "browser_mode" } },
      h("label", { class: "check", for: "px-browser" }, h("input", { type: "checkbox", id: "px-browser", name: "browser_mode" }), "Browser mode"),
      h("span", { class: "help" }, "Fetch with a real browser from the pool instead of a plain HTTP client.")),
    h("div", { class: "form-actions" }, submit));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    general.replaceChildren();
    const f = form.elements;
    const headers = parseHeaders(f.headers.value);
    if (headers.error) {
      setFieldError(findField(form, "headers"), headers.error);
      f.headers.focus();
      return;
    }
    const body = {
      method: f.method.value,
      url: f.url.value.trim(),
      headers: headers.value,
      body: f.body.value === "" ? null : f.body.value,
      browser_mode: f.browser_mode.checked,
      timeout: f.timeout.value.trim() === "" ? 60 : Number.isFinite(Number(f.timeout.value)) ? Number(f.timeout.value) : f.timeout.value,
      session_id: f.session_id.value.trim() || null,
      geo: f.geo.value.trim() || null,
    };
    submit.disabled = true;
    resultHost.replaceChildren(h("div", { class: "card card-body muted" }, "Waiting for the response…"));
    const started = performance.now();
    try {
      const res = await api.post("/proxy-fetch", body);
      resultHost.replaceChildren(responseCard(res, performance.now() - started));
    } catch (err) {
      resultHost.replaceChildren();
      if (!showError(form, err)) general.replaceChildren(notice("bad", "The request was not sent", h("span", null, err.message)));
    } finally {
      submit.disabled = false;
    }
  });

  root.append(
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Proxy tester"), h("p", { class: "sub" }, "Send one request the way modules do, through the configured proxy."))),
    stateHost,
    card(null, form),
    resultHost,
  );

  try {
    const status = await api.get("/status", null, scope.signal);
    const summary = proxySummary(status.proxy);
    if (!summary) {
      stateHost.replaceChildren(notice("warn", "No proxy configured",
        h("span", null, "Requests go out directly. Set ", h("code", null, "SWEATPANTS_PROXY_URL"), " for the daemon to route them through a proxy.")));
    } else {
      stateHost.replaceChildren(notice("ok", "Proxy configured", h("span", null, summary)));
    }
  } catch {
    /* the form still works without the status line */
  }
  form.elements.url.focus({ preventScroll: true });
}

function parseHeaders(text) {
  const raw = text.trim();
  if (!raw) return { value: {} };
  if (raw.startsWith("{")) {
    try {
      const obj = JSON.parse(raw);
      if (obj && typeof obj === "object" && !Array.isArray(obj)) return { value: obj };
    } catch (err) {
      return { error: `Not valid JSON: ${err.message}` };
    }
    return { error: "Headers must be a JSON object." };
  }
  const out = {};
  for (const line of raw.split("\n")) {
    if (!line.trim()) continue;
    const i = line.indexOf(":");
    if (i <= 0) return { error: `“${line.trim()}” is not “Name: value”.` };
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return { value: out };
}

function responseCard(res, ms) {
  const ok = res.success !== false && !res.error;
  const content = res.content === null || res.content === undefined ? "" : String(res.content);
  const binary = res.encoding === "base64";
  const headers = res.headers && typeof res.headers === "object" ? Object.entries(res.headers) : [];
  const status = res.status_code ?? "—";
  const statusKind = typeof status === "number" ? (status < 300 ? "ok" : status < 400 ? "warn" : "bad") : ok ? "ok" : "bad";
  return h("section", { class: "card", "aria-labelledby": "proxy-res-title" },
    h("div", { class: "card-head" },
      h("h2", { id: "proxy-res-title" }, h("span", { class: "status-line" }, h("span", { class: `dot ${statusKind}` }), ok ? `HTTP ${status}` : "Request failed")),
      h("span", { class: "hint" }, [`${Math.round(res.elapsed_ms ?? ms)} ms`, binary ? `${bytes(Math.floor((content.length * 3) / 4))} binary` : bytes(content.length),
        res.proxy ? `via ${res.proxy === "direct" ? "a direct connection" : `${res.proxy} proxy`}` : null].filter(Boolean).join(" · "))),
    h("div", { class: "card-body stack", style: { gap: "16px" } },
      res.error || res.detail ? notice(ok ? "warn" : "bad", res.error && res.detail ? res.error.replace(/_/g, " ") : null, h("span", null, res.detail || res.error)) : null,
      headers.length ? h("details", null, h("summary", { style: { cursor: "pointer", fontWeight: "500" } }, `Response headers (${num(headers.length)})`),
        h("dl", { class: "kv", style: { marginTop: "10px" } }, headers.map(([k, v]) => [h("dt", { class: "mono" }, k), h("dd", { class: "mono" }, String(v))]))) : null,
      h("div", { class: "stack", style: { gap: "6px" } }, h("h3", null, "Content"),
        binary ? h("p", { class: "muted" }, "Binary content (base64); not shown.") : content ? h("pre", { class: "code-block wrap", tabindex: "0", "aria-label": "Response content" }, content.length > PREVIEW ? `${content.slice(0, PREVIEW)}\n… (${bytes(content.length - PREVIEW)} more)` : content)
          : h("p", { class: "muted" }, "Empty body."))));
}

