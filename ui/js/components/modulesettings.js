// The settings stored for a module (GET/PUT /modules/{id}/settings): one field per setting
// its module.json declares. Every job of the module starts from these; a job's own settings
// override them. Secret values never come back from the daemon (it sends "********"), so
// their fields are password boxes that stay empty: "stored" says one is set, typing replaces
// it, "Forget" removes it.
import { api, request } from "../api.js";
import { h, button, notice } from "../dom.js";
import { clearErrors, setFieldError, showError } from "./fields.js";
import { toast } from "./toast.js";

const KINDS = {
  boolean: "boolean", bool: "boolean",
  integer: "integer", int: "integer", number: "number", float: "number",
  json: "json", object: "json", array: "json", list: "json", dict: "json",
};

export function isSecret(spec) {
  const type = String(spec.type || "text").trim().toLowerCase();
  return type === "secret" || type === "password" || spec.secret === true;
}

function kindOf(spec) {
  return KINDS[String(spec.type || "text").trim().toLowerCase()] || "text";
}

function asText(value) {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/** The Settings section of a module page: loads what is stored and saves changes. */
export function moduleSettings(mod, { signal } = {}) {
  const specs = mod.settings || [];
  const host = h("div", { id: "module-settings" });
  if (!specs.length) {
    host.append(h("p", { class: "muted", style: { padding: "16px 18px" } }, "This module has no settings."));
    return host;
  }
  const path = `/modules/${encodeURIComponent(mod.id)}/settings`;
  const general = h("div", { "aria-live": "polite" });
  const save = button("Save settings", { kind: "primary", type: "submit", attrs: { id: "settings-save" } });
  const fieldsHost = h("div", { class: "fieldset" });
  const form = h("form", { class: "form", novalidate: true, id: "module-settings-form", "aria-label": `Settings of ${mod.name || mod.id}` },
    general,
    h("p", { class: "help" }, "Stored in the daemon. Every job of this module starts from these; settings given to a job override them."),
    fieldsHost,
    h("div", { class: "form-actions" }, save));
  host.append(form);
  let fields = [];

  const render = (stored) => {
    fields = specs.map((spec) => makeField(spec, stored));
    fieldsHost.replaceChildren(...fields.map((f) => f.el));
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    general.replaceChildren();
    const body = {};
    let clientError = null;
    for (const f of fields) {
      const res = f.read();
      if (res.error) clientError = clientError || setFieldError(f.el, res.error);
      else if (res.send) body[f.spec.id] = res.value;
    }
    if (clientError) {
      clientError.focus();
      return;
    }
    save.disabled = true;
    try {
      const answer = await request("PUT", path, { body });
      render(answer.settings || {});
      toast("Settings saved");
    } catch (err) {
      if (!showError(form, err)) {
        general.replaceChildren(notice("bad", "The settings were not saved", h("span", null, err.message)));
      }
    } finally {
      save.disabled = false;
    }
  });

  render({});
  api.get(path, null, signal).then((answer) => render(answer.settings || {}), (err) => {
    if (err && err.name === "AbortError") return;
    general.replaceChildren(notice("bad", "The stored settings could not be read", h("span", null, err.message)));
  });
  return host;
}

function makeField(spec, stored) {
  const kind = kindOf(spec);
  const secret = isSecret(spec);
  const id = `ms-${spec.id}`.replace(/[^\w-]/g, "_");
  const helpId = `${id}-help`;
  const has = Object.prototype.hasOwnProperty.call(stored, spec.id);
  const value = stored[spec.id];
  const defaultText = spec.default === undefined || spec.default === null ? "" : `default: ${asText(spec.default)}`;
  let control;
  let read;
  let extra = null;

  if (secret) {
    // Never filled in: the daemon sends only the mask, and the mask is never sent back.
    control = h("input", { class: "input", type: "password", id, name: `settings.${spec.id}`, autocomplete: "new-password",
      value: "", placeholder: has ? "stored" : "not set", "aria-describedby": helpId });
    let forget = false;
    if (has) {
      const forgetBtn = button("Forget", { small: true, kind: "ghost", attrs: { "aria-label": `Forget the stored ${spec.id}` } });
      forgetBtn.addEventListener("click", () => {
        forget = !forget;
        forgetBtn.setAttribute("aria-pressed", String(forget));
        forgetBtn.textContent = forget ? "Keep" : "Forget";
        control.placeholder = forget ? "removed when saved" : "stored";
        control.value = "";
      });
      extra = forgetBtn;
    }
    read = () => {
      if (control.value !== "") return { send: true, value: control.value };
      return forget ? { send: true, value: null } : { send: false };
    };
  } else if (kind === "boolean") {
    control = h("select", { class: "select", id, name: `settings.${spec.id}`, "aria-describedby": helpId, style: { maxWidth: "240px" } },
      h("option", { value: "" }, defaultText ? `not set (${defaultText})` : "not set"),
      h("option", { value: "true" }, "true"),
      h("option", { value: "false" }, "false"));
    control.value = has ? String(value === true) : "";
    const initial = control.value;
    read = () => (control.value === initial ? { send: false }
      : { send: true, value: control.value === "" ? null : control.value === "true" });
  } else if (kind === "json") {
    control = h("textarea", { class: "textarea", id, name: `settings.${spec.id}`, rows: 3, spellcheck: "false",
      value: has ? asText(value) : "", placeholder: defaultText || '{"key": "value"} or [1, 2, 3]', "aria-describedby": helpId });
    const initial = control.value;
    read = () => {
      const raw = control.value.trim();
      if (control.value === initial) return { send: false };
      if (!raw) return { send: true, value: null };
      try {
        return { send: true, value: JSON.parse(raw) };
      } catch (err) {
        return { error: `Not valid JSON: ${err.message}` };
      }
    };
  } else {
    control = h("input", { class: "input", id, name: `settings.${spec.id}`, autocomplete: "off",
      value: has ? asText(value) : "", placeholder: defaultText, "aria-describedby": helpId });
    // Sent as typed when changed (the daemon converts it to the declared type and names
    // what is wrong); an emptied box removes the stored value.
    const initial = control.value;
    read = () => (control.value === initial ? { send: false }
      : { send: true, value: control.value === "" ? null : control.value });
  }

  const label = h("label", { class: "field-label", for: id }, h("span", { class: "mono" }, spec.id),
    spec.required ? h("span", { class: "req", title: "required: a job must give it if it is not stored" }, "*") : null,
    h("span", { class: "type" }, secret ? "secret" : kind), has ? h("span", { class: "chip" }, "stored") : null);
  const help = h("span", { class: "help", id: helpId }, spec.description || (has ? "Stored." : "Not set."));
  const row = extra ? h("div", { class: "row", style: { alignItems: "center", flexWrap: "nowrap" } }, control, extra) : control;
  const el = h("div", { class: "field", dataset: { field: `settings.${spec.id}`, stored: has ? "yes" : "no" } }, label, row, help);
  return { spec, el, read };
}
