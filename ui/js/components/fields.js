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
