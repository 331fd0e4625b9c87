// Create or edit a schedule: the module's inputs and settings as the run form makes them
// (components/fields.js), plus when it runs (cron in a zone, or every N), what to do when a
// run is still going or slots were missed, and retries. The daemon checks it all (422 naming
// the field, shown beside it); nothing is stored until it passes.
import { api, request } from "../api.js";
import { h, card, ico, button, notice } from "../dom.js";
import { clearErrors, makeField, setFieldError, showError } from "../components/fields.js";
import { toast } from "../components/toast.js";

const MASK = "********";

function text(name, label, value, help, placeholder, attrs = {}) {
  const id = `sf-${name}`;
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { class: "field-label", for: id }, label),
    h("input", { class: "input", id, name, value: value ?? "", placeholder: placeholder || null, autocomplete: "off", spellcheck: "false",
      "aria-describedby": help ? `${id}-help` : null, ...attrs }),
    help ? h("span", { class: "help", id: `${id}-help` }, help) : null);
}

function select(name, label, value, options, help) {
  const id = `sf-${name}`;
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { class: "field-label", for: id }, label),
    h("select", { class: "select", id, name, "aria-describedby": `${id}-help` },
      options.map(([v, l]) => h("option", { value: v, selected: v === value }, l))),
    h("span", { class: "help", id: `${id}-help` }, help));
}

function zoneList() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo"];
  }
}

export default async function scheduleForm(ctx) {
  const { root, scope, params } = ctx;
  const editing = params.id ? await api.get(`/schedules/${encodeURIComponent(params.id)}`, null, scope.signal) : null;
  const moduleId = editing ? editing.module_id : params.module;
  const mod = await api.get(`/modules/${encodeURIComponent(moduleId)}`, null, scope.signal);
  const name = mod.name || moduleId;
  const title = editing ? `Edit schedule of ${name}` : `Schedule ${name}`;
  ctx.setTitle(title);
  const s = editing || {};
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";

  const general = h("div", { "aria-live": "polite" });
  const inputs = (mod.inputs || []).map((spec) => makeField("inputs", spec, editing ? editing.inputs : null));
  const settings = (mod.settings || []).map((spec) => makeField("settings", spec, editing ? editing.settings : null));
  const kind = s.every ? "every" : "cron";
  const kindRadios = ["cron", "every"].map((k) => h("label", { class: "check" },
    h("input", { type: "radio", name: "kind", value: k, checked: k === kind }), h("span", null, k === "cron" ? "At times (cron)" : "Every…")));
  const cron = text("cron", "Cron expression", s.cron || "0 6 * * *", "minute hour day-of-month month day-of-week: 0 6 * * * is every day at 06:00, */15 * * * * every 15 minutes, 0 9 * * 1-5 weekdays at 09:00.", "0 6 * * *");
  const zone = text("timezone", "Time zone", editing ? s.timezone : localZone, "The IANA zone the cron times are in. A time the DST change skips runs at the first minute after it; a time it repeats runs once.", "Europe/Berlin", { list: "sf-zones" });
  const zones = h("datalist", { id: "sf-zones" }, zoneList().map((z) => h("option", { value: z })));
  const every = text("every", "Every", s.every || "15m", "30s, 15m, 6h, 1d: counted from when the schedule is made (or from Start at).", "15m");
  const startAt = text("start_at", "Start at", "", "Optional, for Every: the first run (ISO time, like 2027-03-27T06:00). Leave empty to start one interval from now.", "");
  const overlap = select("overlap", "If the previous run is still going", s.overlap || "skip",
    [["skip", "Skip this run"], ["queue", "Queue one run until it ends"], ["allow", "Run both"]], "What a due run does while the schedule's last run is pending or running.");
  const misfire = select("misfire", "Missed runs (asleep, daemon off)", s.misfire || "coalesce",
    [["coalesce", "Run once to catch up"], ["skip", "Skip them"]], "Runs missed by more than the grace below. Never more than one catch-up run.");
  const grace = text("misfire_grace", "Grace", s.misfire_grace || "60s", "A run this late still starts as usual.", "60s");
  const retries = text("retries", "Retries", String(s.retries ?? 0), "How often a failed run is tried again (from its last checkpoint).", "0", { inputmode: "numeric" });
  const retryDelay = text("retry_delay", "First retry after", s.retry_delay || "30s", "Doubled for each further attempt, up to an hour.", "30s");
  const limit = text("max_duration", "Time limit", s.max_duration || "", "Each run is stopped when it reaches this. Empty: no limit.", "e.g. 2h");
  const label = text("name", "Name", s.name || "", "Optional: shown instead of the module's name.", name);
  const enabled = h("label", { class: "check", dataset: { field: "enabled" } },
    h("input", { type: "checkbox", name: "enabled", checked: editing ? s.enabled : true }), h("span", null, "Enabled"));
  const submit = button(editing ? "Save schedule" : "Create schedule", { kind: "primary", type: "submit", icon: "clock", attrs: { id: "schedule-submit" } });
  const cancelHref = editing ? `#/schedules/${encodeURIComponent(editing.id)}` : `#/modules/${encodeURIComponent(moduleId)}`;

  const form = h("form", { class: "form", novalidate: true, id: "schedule-form", "aria-label": title },
    general,
    h("fieldset", { class: "fieldset" }, h("legend", null, "When"),
      h("div", { class: "checks", role: "radiogroup", "aria-label": "How it repeats", style: { display: "flex", gap: "20px" } }, kindRadios),
      cron, zone, zones, every, startAt),
    h("fieldset", { class: "fieldset" }, h("legend", null, "Inputs"),
      inputs.length ? inputs.map((f) => f.el) : h("p", { class: "muted" }, "This module takes no inputs.")),
    settings.length ? h("fieldset", { class: "fieldset" }, h("legend", null, "Settings"), settings.map((f) => f.el)) : null,
    h("fieldset", { class: "fieldset" }, h("legend", null, "Runs"), overlap, misfire, grace, retries, retryDelay, limit),
    h("fieldset", { class: "fieldset" }, h("legend", null, "Schedule"), label, enabled),
    h("div", { class: "form-actions" }, submit, h("a", { class: "btn btn-ghost", href: cancelHref }, "Cancel")));

  const showKind = () => {
    const picked = form.elements.kind.value;
    cron.hidden = zone.hidden = picked !== "cron";
    every.hidden = startAt.hidden = picked !== "every";
  };
  form.addEventListener("change", (e) => { if (e.target.name === "kind") showKind(); });
  showKind();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    general.replaceChildren();
    const body = { inputs: {}, settings: {} };
    let clientError = null;
    for (const [group, fields] of [["inputs", inputs], ["settings", settings]]) {
      for (const f of fields) {
        const res = f.read();
        if (res.error) clientError = clientError || setFieldError(f.el, res.error);
        else if (res.present) body[group][f.spec.id] = res.value;
        else if (editing && f.secret && f.spec.id in (editing[group] || {})) body[group][f.spec.id] = MASK; // keep
        else if (editing && f.spec.id in (editing[group] || {})) body[group][f.spec.id] = null; // emptied
      }
    }
    const count = Number(form.elements.retries.value.trim() || "0");
    if (!Number.isInteger(count) || count < 0) clientError = clientError || setFieldError(retries, "A whole number, 0 or more");
    if (clientError) {
      clientError.focus();
      return;
    }
    const value = (n) => form.elements[n].value.trim();
    if (form.elements.kind.value === "cron") {
      Object.assign(body, { cron: value("cron"), every: null, timezone: value("timezone") || null });
    } else {
      Object.assign(body, { every: value("every"), cron: null });
      if (value("start_at")) body.start_at = value("start_at");
    }
    Object.assign(body, {
      overlap: value("overlap"), misfire: value("misfire"), misfire_grace: value("misfire_grace") || null,
      retries: count, retry_delay: value("retry_delay") || null, max_duration: value("max_duration") || null,
      name: value("name") || null, enabled: form.elements.enabled.checked,
    });
    if (!editing) {
      body.module_id = mod.id || moduleId;
      if (body.cron) delete body.every;
      else delete body.cron;
    }
    submit.disabled = true;
    try {
      const saved = editing
        ? await request("PATCH", `/schedules/${encodeURIComponent(editing.id)}`, { body })
        : await api.post("/schedules", body);
      toast(editing ? "Schedule saved" : `Scheduled ${name}`);
      ctx.navigate(`#/schedules/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      submit.disabled = false;
      if (!showError(form, err)) {
        general.replaceChildren(notice("bad", "The schedule was not saved", h("span", null, err.message, err.field ? h("span", { class: "muted" }, ` (${err.field})`) : null)));
      }
    }
  });

  root.append(
    h("div", null,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
        h("a", { href: "#/schedules" }, "Schedules"), ico("chevronRight"), h("span", null, title)),
      h("div", { class: "page-head" },
        h("div", null, h("h1", null, title), h("p", { class: "sub" }, mod.description || "")))),
    card(null, form));
  const first = form.querySelector("input:not([type=radio])");
  if (first) first.focus({ preventScroll: true });
}
