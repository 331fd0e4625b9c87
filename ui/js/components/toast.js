// Short messages in the corner; errors stay a little longer.
import { h } from "../dom.js";

export function toast(message, { kind = "", timeout = 4000 } = {}) {
  const host = document.getElementById("toasts");
  if (!host) return;
  const el = h("div", { class: `toast ${kind}` }, message);
  host.appendChild(el);
  setTimeout(() => el.remove(), kind === "bad" ? timeout * 2 : timeout);
}

export function toastError(err) {
  toast(err && err.message ? err.message : String(err), { kind: "bad" });
}
