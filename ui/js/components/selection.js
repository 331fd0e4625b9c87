// A selection of rows and the bar of bulk actions on it (the jobs list: stop; add more).
//
//   const selection = createSelection({
//     noun: ["job", "jobs"],
//     actions: [{ id: "stop", label: "Stop", icon: "stop", kind: "danger",
//                 applies: (job) => isActive(job.status), run: async (jobs) => {...} }],
//   });
//   table head:  selection.allBox            (selects every row shown)
//   each row:    selection.box(job.id, job, `job ${shortId(job.id)}`)
//   above:       selection.bar               (hidden while nothing is selected)
//   list reload: selection.reset(); rows gone: selection.forget(id); rows shown: selection.shown(fn)
//
// Each item keeps the data of its row (the job as last shown), so an action sees the current
// status; `applies` says which selected items an action takes (the button shows how many).
import { h, ico } from "../dom.js";
import { num } from "../format.js";

export function createSelection({ noun = ["item", "items"], actions = [] } = {}) {
  const items = new Map(); // id → data of the row
  const boxes = new Map(); // id → its checkbox
  let shown = () => [];

  const count = h("span", { class: "bulk-count", role: "status" });
  const buttons = actions.map((action) =>
    h("button", { class: `btn btn-sm${action.kind ? ` btn-${action.kind}` : ""}`, type: "button", dataset: { action: action.id },
      onclick: async (e) => {
        const button = e.currentTarget;
        const chosen = [...items.values()].filter((data) => !action.applies || action.applies(data));
        if (!chosen.length) return;
        button.disabled = true;
        try {
          await action.run(chosen);
        } finally {
          button.disabled = false;
          refresh();
        }
      } }, action.icon ? ico(action.icon) : null, h("span", { class: "label" }, action.label)));
  const clearButton = h("button", { class: "btn btn-sm", type: "button", onclick: () => reset() }, "Clear selection");
  const bar = h("div", { class: "bulk-bar", role: "group", "aria-label": `Selected ${noun[1]}`, hidden: true },
    count, ...buttons, clearButton);
  const allBox = h("input", { type: "checkbox", class: "select-box", "aria-label": `Select every ${noun[0]} shown`,
    onchange: (e) => {
      for (const [id, data] of shown()) set(id, data, e.target.checked);
      refresh();
    } });

  function set(id, data, on) {
    if (on) items.set(id, data);
    else items.delete(id);
    const box = boxes.get(id);
    if (box) box.checked = on;
  }

  function refresh() {
    const size = items.size;
    bar.hidden = size === 0;
    count.textContent = `${num(size)} ${size === 1 ? noun[0] : noun[1]} selected`;
    actions.forEach((action, i) => {
      const takes = [...items.values()].filter((data) => !action.applies || action.applies(data)).length;
      buttons[i].disabled = takes === 0;
      buttons[i].querySelector(".label").textContent = takes && takes !== size ? `${action.label} ${num(takes)}` : action.label;
    });
    const visible = shown();
    const picked = visible.filter(([id]) => items.has(id)).length;
    allBox.checked = visible.length > 0 && picked === visible.length;
    allBox.indeterminate = picked > 0 && picked < visible.length;
  }

  function box(id, data, name) {
    if (items.has(id)) items.set(id, data); // the row was redrawn: keep its newest data
    const input = h("input", { type: "checkbox", class: "select-box", "aria-label": `Select ${name}`, checked: items.has(id),
      onclick: (e) => e.stopPropagation(),
      onchange: (e) => {
        set(id, data, e.target.checked);
        refresh();
      } });
    boxes.set(id, input);
    queueMicrotask(refresh);
    return input;
  }

  function reset() {
    for (const id of [...items.keys()]) set(id, null, false);
    refresh();
  }

  function forget(id) {
    items.delete(id);
    boxes.delete(id);
    refresh();
  }

  refresh();
  return {
    bar,
    allBox,
    box,
    reset,
    forget,
    refresh,
    has: (id) => items.has(id),
    ids: () => [...items.keys()],
    /** fn() → [[id, data], ...] of the rows shown now (for "select all" and its state). */
    shown(fn) {
      shown = fn;
      refresh();
    },
  };
}
