// Tiny DOM helpers: build elements from data without ever parsing HTML from the API.
import { icon } from "./icons.js";

/**
 * h("div", {class: "x", onclick: fn, dataset: {id: 1}}, child, "text", [more])
 * Attributes with value null/undefined/false are skipped; true sets an empty attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "text") el.textContent = value;
      else if (key === "value") el.value = value;
      else if (key in el && typeof value !== "string" && key !== "list") el[key] = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

export function ico(name, cls = "icon") {
  const span = document.createElement("span");
  span.className = "icon-wrap";
  span.style.display = "inline-flex";
  span.setAttribute("aria-hidden", "true");
  span.appendChild(icon(name, cls));
  return span;
}

export function button(label, { kind = "", icon: iconName, onClick, type = "button", small = false, attrs = {} } = {}) {
  const cls = ["btn", kind ? `btn-${kind}` : "", small ? "btn-sm" : ""].filter(Boolean).join(" ");
  return h("button", { class: cls, type, onclick: onClick, ...attrs }, iconName ? ico(iconName) : null, label);
}

export function card(title, body, { actions = null, hint = null, flush = false, id = null, headingLevel = "h2" } = {}) {
  const head = title
    ? h("div", { class: "card-head" },
        h("div", { class: "stack", style: { gap: "2px" } }, h(headingLevel, { id }, title), hint ? h("span", { class: "hint" }, hint) : null),
        actions)
    : null;
  return h("section", { class: "card", "aria-labelledby": id || null },
    head, h("div", { class: flush ? "card-body flush" : "card-body" }, body));
}

export function empty(title, text, iconName = "inbox") {
  return h("div", { class: "empty" }, ico(iconName), h("strong", null, title), text ? h("span", null, text) : null);
}

export function notice(kind, title, body) {
  const iconName = kind === "bad" ? "alert" : kind === "ok" ? "check" : kind === "warn" ? "alert" : "info";
  return h("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : null },
    ico(iconName), h("div", { class: "notice-body" }, title ? h("div", { class: "notice-title" }, title) : null, body));
}
