// Modal dialogs on <dialog>: confirmation and the API token prompt.
import { h, button } from "../dom.js";

export function confirmDialog({ title, body, confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const ok = button(confirmLabel, { kind: danger ? "danger-solid" : "primary", attrs: { value: "ok" } });
    const cancel = button("Cancel", { attrs: { value: "cancel" } });
    const dlg = h("dialog", { "aria-labelledby": titleId },
      h("div", { class: "dialog-body" }, h("h2", { id: titleId }, title), h("p", null, body)),
      h("div", { class: "dialog-actions" }, cancel, ok));
    let answer = false;
    ok.addEventListener("click", () => { answer = true; dlg.close(); });
    cancel.addEventListener("click", () => dlg.close());
    dlg.addEventListener("close", () => { dlg.remove(); resolve(answer); });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

let tokenDialogOpen = false;

/** Ask for the API token (after a 401). Resolves with the token, or "" if dismissed. */
export function tokenDialog(message) {
  if (tokenDialogOpen) return Promise.resolve(null);
  tokenDialogOpen = true;
  return new Promise((resolve) => {
    const input = h("input", { class: "input", id: "token-input", type: "password", autocomplete: "off", spellcheck: "false" });
    const form = h("form", { method: "dialog" },
      h("div", { class: "dialog-body" },
        h("h2", { id: "token-title" }, "API token needed"),
        h("p", null, message || "This Sweatpants daemon requires a token. Paste the value of SWEATPANTS_API_AUTH_TOKEN (also in daemon.json)."),
        h("div", { class: "field" }, h("label", { class: "field-label", for: "token-input" }, "Token"), input)),
      h("div", { class: "dialog-actions" },
        button("Not now", { attrs: { value: "cancel", formnovalidate: true }, type: "submit" }),
        button("Connect", { kind: "primary", type: "submit", attrs: { value: "ok" } })));
    const dlg = h("dialog", { "aria-labelledby": "token-title" }, form);
    dlg.addEventListener("close", () => {
      tokenDialogOpen = false;
      const token = dlg.returnValue === "ok" ? input.value.trim() : "";
      dlg.remove();
      resolve(token);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    input.focus();
  });
}
