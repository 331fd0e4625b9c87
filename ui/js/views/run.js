// Run a job: a form generated from the module's inputs and settings, plus max_duration.
// A secret field (type secret/password, or "secret": true) is a password input that starts
// empty whatever the module's default or a prefill says, and the API preview masks it.
import { api } from "../api.js";
import { h, card, ico, button, notice } from "../dom.js";
import { clearErrors, makeField, setFieldError, showError } from "../components/fields.js";
import { takePrefill } from "../components/prefill.js";
import { toast } from "../components/toast.js";

const MASK = "********";

export default async function run(ctx) {
  const { root, scope, params } = ctx;
  const id = params.module;
  const mod = await api.get(`/modules/${encodeURIComponent(id)}`, null, scope.signal);
  const name = mod.name || id;
  ctx.setTitle(`Run ${name}`);
  const prefill = takePrefill(id) || {};

  const general = h("div", { "aria-live": "polite" });
  const apiPreview = h("pre", { class: "code-block wrap", tabindex: "0", "aria-label": "Equivalent API request" });
  const submit = button("Start job", { kind: "primary", type: "submit", icon: "play", attrs: { id: "run-submit" } });
  const inputs = (mod.inputs || []).map((spec) => makeField("inputs", spec, prefill.inputs));
  const settings = (mod.settings || []).map((spec) => makeField("settings", spec, prefill.settings));

  const maxDuration = h("div", { class: "field", dataset: { field: "max_duration" } },
    h("label", { class: "field-label", for: "run-max-duration" }, "Time limit"),
    h("input", { class: "input", id: "run-max-duration", name: "max_duration", placeholder: "e.g. 30m, 2h, 7d", value: prefill.max_duration || "",
      autocomplete: "off", spellcheck: "false", "aria-describedby": "run-max-duration-help", style: { maxWidth: "240px" } }),
    h("span", { class: "help", id: "run-max-duration-help" }, "The job is stopped when it reaches this limit. Leave empty for no limit."));

  const form = h("form", { class: "form", novalidate: true, id: "run-form", "aria-label": `Run ${name}` },
    general,
    h("fieldset", { class: "fieldset" }, h("legend", null, "Inputs"),
      inputs.length ? inputs.map((f) => f.el) : h("p", { class: "muted" }, "This module takes no inputs.")),
    settings.length ? h("fieldset", { class: "fieldset" }, h("legend", null, "Settings"), settings.map((f) => f.el)) : null,
    h("fieldset", { class: "fieldset" }, h("legend", null, "Limits"), maxDuration),
    h("div", { class: "form-actions" }, submit, h("a", { class: "btn btn-ghost", href: `#/modules/${encodeURIComponent(id)}` }, "Cancel"),
      h("span", { class: "help" }, h("span", { class: "req" }, "*"), " required")));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    general.replaceChildren();
    const body = { module_id: mod.id || id, inputs: {}, settings: {} };
    let clientError = null;
    for (const [group, fields] of [["inputs", inputs], ["settings", settings]]) {
      for (const f of fields) {
        const res = f.read();
        if (res.error) {
          const control = setFieldError(f.el, res.error);
          clientError = clientError || control;
        } else if (res.present) body[group][f.spec.id] = res.value;
      }
    }
    if (clientError) {
      clientError.focus();
      return;
    }
    const limit = form.elements.max_duration.value.trim();
    if (limit) body.max_duration = limit;
    submit.disabled = true;
    try {
      const job = await api.post("/jobs", body);
      toast(`Started ${name}`);
      ctx.navigate(`#/jobs/${job.id}`);
    } catch (err) {
      submit.disabled = false;
      if (!showError(form, err)) {
        general.replaceChildren(notice("bad", "The job was not started", h("span", null, err.message, err.field ? h("span", { class: "muted" }, ` (${err.field})`) : null)));
      }
    }
  });

  root.append(
    h("div", null,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
        h("a", { href: "#/modules" }, "Modules"), ico("chevronRight"),
        h("a", { href: `#/modules/${encodeURIComponent(id)}` }, name), ico("chevronRight"), h("span", null, "Run")),
      h("div", { class: "page-head" },
        h("div", null,
          h("div", { class: "title-row" }, h("h1", null, `Run ${name}`), h("span", { class: "version" }, `v${mod.version || "?"}`)),
          h("p", { class: "sub" }, mod.description || "Fill in the inputs and start a job.")))),
    h("div", { class: "grid two-col", style: { alignItems: "start" } },
      card(null, form),
      h("div", { class: "stack", style: { gap: "16px" } },
        card("About this module", about(mod), { id: "run-about" }),
        card("Same job from the API", apiPreview, { id: "run-api", hint: "What this form will send" }))),
  );
  const refreshPreview = () => { apiPreview.textContent = previewText(mod, id, inputs, settings, form); };
  form.addEventListener("input", refreshPreview);
  form.addEventListener("change", refreshPreview);
  refreshPreview();
  const first = form.querySelector("input:not([type=checkbox]), textarea, select");
  if (first) first.focus({ preventScroll: true });
}

function about(mod) {
  const caps = mod.capabilities || [];
  return h("dl", { class: "kv" },
    h("dt", null, "Module"), h("dd", null, h("code", null, mod.id)),
    h("dt", null, "Version"), h("dd", null, mod.version || "—"),
    h("dt", null, "Uses"), h("dd", null, caps.length ? h("span", { class: "chips" }, caps.map((c) => h("span", { class: "chip" }, c))) : "nothing special"),
    h("dt", null, "Output"), h("dd", null, "Log lines and results stream live on the job page; results export as CSV or NDJSON."));
}

function previewText(mod, id, inputs, settings, form) {
  const body = { module_id: mod.id || id };
  for (const [group, fields] of [["inputs", inputs], ["settings", settings]]) {
    const values = {};
    for (const f of fields) {
      const res = f.read();
      if (res.present) values[f.spec.id] = f.secret ? MASK : res.value;
    }
    if (Object.keys(values).length) body[group] = values;
  }
  const limit = form.elements.max_duration.value.trim();
  if (limit) body.max_duration = limit;
  return `POST /jobs\n${JSON.stringify(body, null, 2)}`;
}
