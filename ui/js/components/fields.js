// Field-level errors: the API names the field at fault ({"field": "inputs.count"}); show the
// message beside the control whose data-field matches, else let the caller show it generally.
import { h } from "../dom.js";

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll(".field.has-error")) {
    el.classList.remove("has-error");
    const control = el.querySelector("input, textarea, select");
    if (control) {
      control.removeAttribute("aria-invalid");
      const described = (control.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.endsWith("-error"));
      if (described.length) control.setAttribute("aria-describedby", described.join(" "));
      else control.removeAttribute("aria-describedby");
    }
  }
}

/** Find the field for a dotted path, trying shorter prefixes ("inputs.items.0" → "inputs.items"). */
export function findField(form, path) {
  if (!path) return null;
  const parts = String(path).split(".");
  while (parts.length) {
    const name = parts.join(".");
    const el = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
    if (el) return el;
    parts.pop();
  }
  return null;
}

export function setFieldError(field, message) {
  field.classList.add("has-error");
  const control = field.querySelector("input, textarea, select");
  const id = `${control && control.id ? control.id : `f${Math.random().toString(36).slice(2)}`}-error`;
  const msg = h("div", { class: "field-error", id, role: "alert" }, message);
  field.appendChild(msg);
  if (control) {
    control.setAttribute("aria-invalid", "true");
    const described = control.getAttribute("aria-describedby");
    control.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
  }
  return control;
}

/** Show an ApiError beside its field. Returns true when it was placed there. */
export function showError(form, err, { focus = true } = {}) {
  const field = err && err.field ? findField(form, err.field) : null;
  if (!field) return false;
  // "inputs.count: expected an integer" reads better beside the field without its name.
  const prefix = `${err.field}: `;
  let message = err.message;
  if (message.startsWith(prefix)) {
    message = message.slice(prefix.length);
    message = message.charAt(0).toUpperCase() + message.slice(1);
  }
  const control = setFieldError(field, message);
  if (focus && control) control.focus();
  return true;
}

// ----- generated fields (the run form; the schedule form reuses them)

/** Declared secret, as the daemon decides it (modules/manifest.py, Field.secret). */
export function isSecret(spec) {
  const type = String(spec.type || "").trim().toLowerCase();
  return type === "secret" || type === "password" || spec.secret === true;
}

/**
 * One form field for a declared input or setting (module.json): `group` is "inputs" or
 * "settings", `prefill` an optional {id: value}. Returns {spec, el, read, secret}: `el` is the
 * .field element (data-field="group.id"), `read()` gives {present, value} or {error}.
 */
export function makeField(group, spec, prefill) {
  const type = String(spec.type || "text").toLowerCase();
  const id = `f-${group}-${spec.id}`.replace(/[^\w-]/g, "_");
  const helpId = `${id}-help`;
  const path = `${group}.${spec.id}`;
  const has = prefill && Object.prototype.hasOwnProperty.call(prefill, spec.id);
  const initial = has ? prefill[spec.id] : spec.default;
  const described = spec.description ? helpId : null;
  const secret = isSecret(spec) && type !== "boolean";
  let control;
  let read;

  if (secret) {
    // Never filled in: not from the default, not from a job (whose secrets come back masked).
    control = h("input", { class: "input", id, name: path, type: "password", autocomplete: "new-password", spellcheck: "false",
      value: "", placeholder: "secret: sent once, then shown as ********", "aria-describedby": described });
    read = () => {
      const raw = control.value;
      return raw === "" ? { present: false } : { present: true, value: raw };
    };
  } else if (type === "boolean") {
    control = h("input", { type: "checkbox", id, name: path, checked: initial === true || initial === "true", "aria-describedby": described });
    read = () => ({ present: true, value: control.checked });
  } else if (type === "json") {
    const text = initial === undefined || initial === null ? "" : typeof initial === "string" ? initial : JSON.stringify(initial, null, 2);
    control = h("textarea", { class: "textarea", id, name: path, rows: 4, spellcheck: "false", value: text, "aria-describedby": described, placeholder: '{"key": "value"} or [1, 2, 3]' });
    read = () => {
      const raw = control.value.trim();
      if (!raw) return { present: false };
      try {
        return { present: true, value: JSON.parse(raw) };
      } catch (err) {
        return { error: `Not valid JSON: ${err.message}` };
      }
    };
  } else if (type === "number" || type === "integer") {
    control = h("input", { class: "input", id, name: path, inputmode: type === "integer" ? "numeric" : "decimal", autocomplete: "off",
      value: initial === undefined || initial === null ? "" : String(initial), "aria-describedby": described, style: { maxWidth: "240px" } });
    read = () => {
      const raw = control.value.trim();
      if (!raw) return { present: false };
      const n = Number(raw);
      // Numbers go as numbers; anything else goes as typed, and the API names what is wrong.
      return { present: true, value: Number.isFinite(n) ? n : raw };
    };
  } else {
    const long = typeof initial === "string" && (initial.length > 80 || initial.includes("\n"));
    control = long
      ? h("textarea", { class: "textarea", id, name: path, rows: 3, value: initial, "aria-describedby": described, style: { fontFamily: "inherit" } })
      : h("input", { class: "input", id, name: path, autocomplete: "off", value: initial === undefined || initial === null ? "" : String(initial), "aria-describedby": described });
    read = () => {
      const raw = control.value;
      return raw === "" ? { present: false } : { present: true, value: raw };
    };
  }

  const label = h("span", null, spec.name || spec.label || spec.id);
  const labelRow = [label, spec.required ? h("span", { class: "req", "aria-hidden": "true" }, "*") : null,
    spec.required ? h("span", { class: "sr-only" }, "(required)") : null, h("span", { class: "type" }, type)];
  if (control.required !== undefined && spec.required) control.setAttribute("aria-required", "true");
  const help = spec.description ? h("span", { class: "help", id: helpId }, spec.description) : null;
  const el = type === "boolean"
    ? h("div", { class: "field", dataset: { field: path } },
        h("label", { class: "check", for: id }, control, h("span", { class: "field-label" }, labelRow)), help)
    : h("div", { class: "field", dataset: { field: path } }, h("label", { class: "field-label", for: id }, labelRow), control, help);
  return { spec, el, read, secret };
}
