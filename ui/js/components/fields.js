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

/** The kind a declared type behaves as, as the daemon decides it (modules/coerce.py). */
const ALIASES = { string: "text", str: "text", secret: "text", password: "text", textarea: "text", url: "text",
  int: "integer", float: "number", bool: "boolean", object: "json", array: "json", list: "json", dict: "json" };
const KINDS = new Set(["text", "number", "integer", "boolean", "json", "select", "multiselect"]);
export function kindOf(spec) {
  const type = String(spec.type || "text").trim().toLowerCase();
  return KINDS.has(type) ? type : ALIASES[type] || "text";
}

/** A select's options as [{value, label}] (module.json gives values or {value, label}). */
export function optionsOf(spec) {
  return (Array.isArray(spec.options) ? spec.options : []).map((o) =>
    o !== null && typeof o === "object" ? { value: o.value, label: o.label ? String(o.label) : String(o.value) } : { value: o, label: String(o) });
}

const sameOption = (a, b) => a === b || String(a) === String(b);
const shown = (v) => (typeof v === "string" ? `'${v}'` : JSON.stringify(v));
const num = (v) => String(v);
const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** What the daemon would say of a number outside the field's min/max/step (field_rules.py). */
export function numberProblem(spec, n) {
  const min = typeof spec.min === "number" ? spec.min : null;
  const max = typeof spec.max === "number" ? spec.max : null;
  if (min !== null && n < min) return `Must be at least ${num(min)}, got ${num(n)}`;
  if (max !== null && n > max) return `Must be at most ${num(max)}, got ${num(n)}`;
  if (typeof spec.step === "number" && spec.step > 0) {
    const base = min !== null ? min : 0;
    const steps = (n - base) / spec.step;
    if (Math.abs(steps - Math.round(steps)) > 1e-9 * Math.max(1, Math.abs(steps))) {
      return `Must go in steps of ${num(spec.step)}${base ? ` from ${num(base)}` : ""}, got ${num(n)}`;
    }
  }
  return null;
}

/** "From 1 to 1000", "At least 0", "Steps of 0.5": the bounds, said under the field. */
function boundsText(spec) {
  const min = typeof spec.min === "number" ? spec.min : null;
  const max = typeof spec.max === "number" ? spec.max : null;
  const parts = [];
  if (min !== null && max !== null) parts.push(`From ${num(min)} to ${num(max)}`);
  else if (min !== null) parts.push(`At least ${num(min)}`);
  else if (max !== null) parts.push(`At most ${num(max)}`);
  if (typeof spec.step === "number") parts.push(`${parts.length ? "in steps" : "Steps"} of ${num(spec.step)}`);
  return parts.length ? `${parts.join(", ")}.` : "";
}

function patternOf(spec) {
  if (typeof spec.pattern !== "string" || !spec.pattern) return null;
  try {
    return new RegExp(`^(?:${spec.pattern})$`, "u");
  } catch {
    return null; // a Python-only expression: the daemon checks it
  }
}

/**
 * One form field for a declared input or setting (module.json): `group` is "inputs" or
 * "settings", `prefill` an optional {id: value}. Returns {spec, el, read, secret}: `el` is the
 * .field element (data-field="group.id"), `read()` gives {present, value} or {error} (the
 * same reasons the daemon gives: options, min/max/step, pattern, JSON).
 * Kinds: text (pattern, multiline), number/integer (min, max, step), boolean, json, select and
 * multiselect (options); label, placeholder and help on every field.
 */
export function makeField(group, spec, prefill) {
  const type = String(spec.type || "text").toLowerCase();
  const kind = kindOf(spec);
  const id = `f-${group}-${spec.id}`.replace(/[^\w-]/g, "_");
  const helpId = `${id}-help`;
  const path = `${group}.${spec.id}`;
  const has = prefill && Object.prototype.hasOwnProperty.call(prefill, spec.id);
  const initial = has ? prefill[spec.id] : spec.default;
  const helpText = [spec.description, spec.help, kind === "number" || kind === "integer" ? boundsText(spec) : ""]
    .filter((t) => typeof t === "string" && t.trim()).join(" ");
  const described = helpText ? helpId : null;
  const placeholder = typeof spec.placeholder === "string" ? spec.placeholder : null;
  const secret = isSecret(spec) && kind !== "boolean";
  let control;
  let read;

  if (secret) {
    // Never filled in: not from the default, not from a job (whose secrets come back masked).
    control = h("input", { class: "input", id, name: path, type: "password", autocomplete: "new-password", spellcheck: "false",
      value: "", placeholder: placeholder || "secret: sent once, then shown as ********", "aria-describedby": described });
    read = () => {
      const raw = control.value;
      return raw === "" ? { present: false } : { present: true, value: raw };
    };
  } else if (kind === "boolean") {
    control = h("input", { type: "checkbox", id, name: path, checked: initial === true || initial === "true", "aria-describedby": described });
    read = () => ({ present: true, value: control.checked });
  } else if (kind === "select") {
    const options = optionsOf(spec);
    const known = initial === undefined || initial === null || initial === "" || options.some((o) => sameOption(o.value, initial));
    // A value from an earlier job that the module no longer offers stays visible, flagged,
    // so the person sees why the daemon would refuse it.
    const stray = known ? null : { value: initial, label: `${initial} (not an option)`, stray: true };
    const all = [...(stray ? [stray] : []), ...options];
    control = h("select", { class: "select", id, name: path, "aria-describedby": described },
      h("option", { value: "" }, spec.required ? "Choose…" : "—"),
      all.map((o, i) => h("option", { value: String(i), selected: initial !== undefined && initial !== null && initial !== "" && sameOption(o.value, initial) }, o.label)));
    read = () => {
      if (control.value === "") return { present: false };
      const picked = all[Number(control.value)];
      if (picked.stray) return { error: `Must be one of ${options.map((o) => shown(o.value)).join(", ")}; got ${shown(picked.value)}` };
      return { present: true, value: picked.value };
    };
  } else if (kind === "multiselect") {
    const options = optionsOf(spec);
    const chosen = Array.isArray(initial) ? initial : initial === undefined || initial === null || initial === "" ? [] : [initial];
    const boxes = options.map((o, i) => h("input", { type: "checkbox", id: i ? `${id}-${i}` : id, name: path, value: String(i),
      checked: chosen.some((c) => sameOption(o.value, c)) }));
    const strays = chosen.filter((c) => !options.some((o) => sameOption(o.value, c)));
    control = h("div", { class: "checks", role: "group", "aria-labelledby": `${id}-label`, "aria-describedby": described,
      style: { display: "flex", flexWrap: "wrap", gap: "8px 20px" } },
      options.map((o, i) => h("label", { class: "check", for: boxes[i].id }, boxes[i], h("span", null, o.label))));
    read = () => {
      if (strays.length) return { error: `Must be one of ${options.map((o) => shown(o.value)).join(", ")}; got ${shown(strays[0])}` };
      const values = options.filter((o, i) => boxes[i].checked).map((o) => o.value);
      return values.length ? { present: true, value: values } : { present: false };
    };
  } else if (kind === "json") {
    const text = initial === undefined || initial === null ? "" : typeof initial === "string" ? initial : JSON.stringify(initial, null, 2);
    control = h("textarea", { class: "textarea", id, name: path, rows: 4, spellcheck: "false", value: text, "aria-describedby": described,
      placeholder: placeholder || '{"key": "value"} or [1, 2, 3]' });
    read = () => {
      const raw = control.value.trim();
      if (!raw) return { present: false };
      try {
        return { present: true, value: JSON.parse(raw) };
      } catch (err) {
        return { error: `Not valid JSON: ${err.message}` };
      }
    };
  } else if (kind === "number" || kind === "integer") {
    control = h("input", { class: "input", id, name: path, inputmode: kind === "integer" ? "numeric" : "decimal", autocomplete: "off",
      value: initial === undefined || initial === null ? "" : String(initial), placeholder, "aria-describedby": described, style: { maxWidth: "240px" } });
    read = () => {
      const raw = control.value.trim();
      if (!raw) return { present: false };
      const n = Number(raw);
      // Numbers go as numbers; anything else goes as typed, and the API names what is wrong.
      if (!Number.isFinite(n)) return { present: true, value: raw };
      const problem = kind === "integer" && !Number.isInteger(n) ? null : numberProblem(spec, n);
      return problem ? { error: problem } : { present: true, value: n };
    };
  } else {
    const long = spec.multiline === true || type === "textarea" || (typeof initial === "string" && (initial.length > 80 || initial.includes("\n")));
    const value = initial === undefined || initial === null ? "" : String(initial);
    control = long
      ? h("textarea", { class: "textarea", id, name: path, rows: 3, value, placeholder, "aria-describedby": described, style: { fontFamily: "inherit" } })
      : h("input", { class: "input", id, name: path, autocomplete: "off", value, placeholder, "aria-describedby": described });
    const pattern = patternOf(spec);
    read = () => {
      const raw = control.value;
      if (raw === "") return { present: false };
      if (pattern && !pattern.test(raw)) return { error: capital(`must match the pattern ${spec.pattern}`) };
      return { present: true, value: raw };
    };
  }

  const label = h("span", { id: `${id}-label` }, spec.label || spec.name || spec.id);
  const labelRow = [label, spec.required ? h("span", { class: "req", "aria-hidden": "true" }, "*") : null,
    spec.required ? h("span", { class: "sr-only" }, "(required)") : null, h("span", { class: "type" }, type)];
  if (spec.required && control.tagName !== "DIV") control.setAttribute("aria-required", "true");
  const help = helpText ? h("span", { class: "help", id: helpId }, helpText) : null;
  let el;
  if (kind === "boolean") {
    el = h("div", { class: "field", dataset: { field: path } },
      h("label", { class: "check", for: id }, control, h("span", { class: "field-label" }, labelRow)), help);
  } else if (kind === "multiselect") {
    el = h("div", { class: "field", dataset: { field: path } }, h("div", { class: "field-label" }, labelRow), control, help);
  } else {
    el = h("div", { class: "field", dataset: { field: path } }, h("label", { class: "field-label", for: id }, labelRow), control, help);
  }
  return { spec, el, read, secret };
}
