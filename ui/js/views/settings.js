// Settings: daemon-wide things a person changes now and then. Webhooks first: the receivers
// told about job events (GET/POST/PATCH/DELETE /webhooks), a test delivery, and each one's
// delivery log (GET /webhooks/{id}/deliveries).
import { api, request } from "../api.js";
import { h, card, button, empty, notice } from "../dom.js";
import { shortId, timeFull, timeShort } from "../format.js";
import { badge } from "../components/status.js";
import { confirmDialog } from "../components/dialog.js";
import { clearErrors, showError } from "../components/fields.js";
import { toast, toastError } from "../components/toast.js";

const EVENTS = [
  ["job.created", "Created"],
  ["job.started", "Started"],
  ["job.completed", "Completed"],
  ["job.failed", "Failed"],
  ["job.stopped", "Stopped"],
];
const DEFAULT_EVENTS = new Set(["job.completed", "job.failed", "job.stopped"]);
const LOG_SIZE = 50;

export default async function settings(ctx) {
  const { root, scope } = ctx;
  ctx.setTitle("Settings");

  const listHost = h("div", { id: "webhook-list" });
  const logHost = h("div", { id: "webhook-log", "aria-live": "polite" });
  const general = h("div");
  let hooks = [];
  let shownLog = null; // the webhook whose delivery log is open

  // ----- the add form -----
  const field = (name, label, control, help) => h("div", { class: "field", dataset: { field: name } },
    h("label", { class: "field-label", for: control.id }, label), control, help ? h("span", { class: "help" }, help) : null);
  const eventBoxes = EVENTS.map(([value, label]) =>
    h("label", { class: "check", for: `wh-event-${value}` },
      h("input", { type: "checkbox", id: `wh-event-${value}`, name: "events", value, checked: DEFAULT_EVENTS.has(value) }), label));
  const submit = button("Add webhook", { kind: "primary", type: "submit", icon: "plus", attrs: { id: "webhook-add" } });
  const form = h("form", { class: "form", novalidate: true, id: "webhook-form" },
    general,
    h("div", { class: "row" },
      field("url", "URL", h("input", { class: "input", id: "wh-url", name: "url", type: "url", placeholder: "https://example.org/hook", autocomplete: "off", spellcheck: "false" }),
        "The daemon POSTs the job (secrets masked) with its event here."),
      field("module_id", "Module", h("input", { class: "input", id: "wh-module", name: "module_id", autocomplete: "off", placeholder: "every module" }))),
    h("div", { class: "field", dataset: { field: "events" } },
      h("span", { class: "field-label", id: "wh-events-label" }, "Events"),
      h("div", { class: "row", role: "group", "aria-labelledby": "wh-events-label", style: { gap: "14px", flexWrap: "wrap" } }, eventBoxes)),
    field("secret", "Secret", h("input", { class: "input", id: "wh-secret", name: "secret", type: "password", autocomplete: "off" }),
      "Optional. Signs each request (X-Sweatpants-Signature and a bearer token); stored sealed, never shown again."),
    h("div", { class: "form-actions" }, submit));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    general.replaceChildren();
    const f = form.elements;
    const body = {
      url: f.url.value.trim(),
      events: [...form.querySelectorAll('input[name="events"]:checked')].map((box) => box.value),
    };
    if (f.module_id.value.trim()) body.module_id = f.module_id.value.trim();
    if (f.secret.value) body.secret = f.secret.value;
    submit.disabled = true;
    try {
      const hook = await api.post("/webhooks", body);
      toast(`Added a webhook to ${hook.url}`);
      f.url.value = "";
      f.module_id.value = "";
      f.secret.value = "";
      for (const box of form.querySelectorAll('input[name="events"]')) box.checked = DEFAULT_EVENTS.has(box.value);
      await load();
    } catch (err) {
      if (!showError(form, err)) general.replaceChildren(notice("bad", "The webhook was not added", h("span", null, err.message)));
    } finally {
      submit.disabled = false;
    }
  });

  // ----- the list -----
  function render() {
    if (!hooks.length) {
      listHost.replaceChildren(empty("No webhooks yet", "Add one below to tell another system when jobs end.", "globe"));
      return;
    }
    const rows = hooks.map((hook) => {
      const fromEnv = hook.source === "environment";
      const test = button("Test", { small: true, attrs: { "aria-label": `Send a test delivery to ${hook.url}` } });
      test.addEventListener("click", () => sendTest(hook, test));
      const log = button("Deliveries", { small: true, attrs: { "aria-label": `Delivery log of ${hook.url}` } });
      log.addEventListener("click", () => openLog(hook));
      const enabled = h("input", { type: "checkbox", checked: hook.enabled, disabled: fromEnv, "aria-label": `Send to ${hook.url}`,
        onchange: (e) => setEnabled(hook, e.target) });
      const remove = fromEnv ? null : button("Delete", { small: true, kind: "danger", icon: "trash", attrs: { "aria-label": `Delete the webhook to ${hook.url}` } });
      if (remove) remove.addEventListener("click", () => removeHook(hook, remove));
      return h("tr", { dataset: { webhook: hook.id } },
        h("td", { class: "mono" }, hook.url, fromEnv ? h("div", { class: "hint" }, "from SWEATPANTS_WEBHOOK_URL") : null),
        h("td", null, hook.events.join(", ")),
        h("td", null, hook.module_id || "any"),
        h("td", null, hook.has_secret ? "signed" : "unsigned"),
        h("td", null, enabled),
        h("td", null, h("div", { style: { display: "flex", gap: "6px", justifyContent: "flex-end" } }, test, log, remove)));
    });
    listHost.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "table", id: "webhooks-table" },
      h("thead", null, h("tr", null, h("th", null, "URL"), h("th", null, "Events"), h("th", null, "Module"),
        h("th", null, "Signing"), h("th", null, "On"), h("th", null, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", null, rows))));
  }

  async function load() {
    const data = await api.get("/webhooks", null, scope.signal);
    hooks = data.webhooks || [];
    render();
    if (shownLog && !hooks.some((hook) => hook.id === shownLog.id)) {
      shownLog = null;
      logHost.replaceChildren();
    }
  }

  async function sendTest(hook, btn) {
    btn.disabled = true;
    try {
      const delivery = await api.post(`/webhooks/${encodeURIComponent(hook.id)}/test`, {});
      if (delivery.status === "delivered") toast(`Test delivered: HTTP ${delivery.response_code} in ${Math.round(delivery.duration_ms)} ms`);
      else toast(`Test ${delivery.status}: ${delivery.error || "no answer yet"}`, { kind: "bad" });
      if (shownLog && shownLog.id === hook.id) await openLog(hook);
    } catch (err) {
      toastError(err);
    } finally {
      btn.disabled = false;
    }
  }

  async function setEnabled(hook, box) {
    try {
      await request("PATCH", `/webhooks/${encodeURIComponent(hook.id)}`, { body: { enabled: box.checked } });
      hook.enabled = box.checked;
    } catch (err) {
      box.checked = !box.checked;
      toastError(err);
    }
  }

  async function removeHook(hook, btn) {
    const ok = await confirmDialog({
      title: "Delete this webhook?",
      body: `Nothing more is sent to ${hook.url}; deliveries still queued for it are dropped.`,
      confirmLabel: "Delete webhook",
      danger: true,
    });
    if (!ok) return;
    btn.disabled = true;
    try {
      await api.del(`/webhooks/${encodeURIComponent(hook.id)}`);
      toast("Webhook deleted");
      await load();
    } catch (err) {
      btn.disabled = false;
      toastError(err);
    }
  }

  // ----- the delivery log -----
  async function openLog(hook) {
    shownLog = hook;
    const data = await api.get(`/webhooks/${encodeURIComponent(hook.id)}/deliveries`, { limit: LOG_SIZE }, scope.signal);
    const items = data.deliveries || [];
    const refresh = button("Refresh", { small: true, icon: "refresh", attrs: { id: "webhook-log-refresh" } });
    refresh.addEventListener("click", () => openLog(hook).catch(toastError));
    const body = items.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "table", id: "deliveries-table" },
          h("thead", null, h("tr", null, h("th", null, "Queued"), h("th", null, "Event"), h("th", null, "Status"),
            h("th", { class: "num" }, "Attempts"), h("th", { class: "num" }, "HTTP"), h("th", { class: "num" }, "Time"),
            h("th", null, "Job"), h("th", null, "Error / next try"))),
          h("tbody", null, items.map(deliveryRow))))
      : empty("No deliveries yet", "Events this webhook listens to will show here, and so will tests.", "inbox");
    logHost.replaceChildren(card(`Deliveries to ${hook.url}`, body,
      { actions: refresh, id: "webhook-log-title", hint: `The newest ${LOG_SIZE}; failures are retried with backoff for up to a day.` }));
  }

  root.append(
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Settings"), h("p", { class: "sub" }, "What the daemon does besides running jobs."))),
    card("Webhooks", h("div", { class: "stack", style: { gap: "18px" } }, listHost, form),
      { id: "webhooks-title", hint: "Receivers told about job events: every delivery is queued, signed when a secret is set, and retried until it arrives." }),
    logHost,
  );
  await load();
}

function deliveryRow(delivery) {
  const note = delivery.status === "pending" && delivery.next_attempt_at
    ? `${delivery.error ? `${delivery.error}; ` : ""}next try ${timeShort(delivery.next_attempt_at)}`
    : delivery.error || "";
  return h("tr", { dataset: { delivery: delivery.id, status: delivery.status } },
    h("td", { title: timeFull(delivery.created_at) }, timeShort(delivery.created_at)),
    h("td", null, delivery.event),
    h("td", null, badge(delivery.status)),
    h("td", { class: "num" }, String(delivery.attempts)),
    h("td", { class: "num" }, delivery.response_code == null ? "—" : String(delivery.response_code)),
    h("td", { class: "num" }, delivery.duration_ms == null ? "—" : `${Math.round(delivery.duration_ms)} ms`),
    h("td", { class: "mono" }, delivery.job_id ? h("a", { href: `#/jobs/${delivery.job_id}` }, shortId(delivery.job_id)) : "—"),
    h("td", { class: "wrap" }, note));
}
