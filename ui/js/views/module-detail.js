// One module: its manifest, inputs, stored settings, recent jobs; run and uninstall.
import { api } from "../api.js";
import { h, card, empty, ico, button } from "../dom.js";
import { plural, shortId, timeShort } from "../format.js";
import { badge, liveDuration, tickDurations } from "../components/status.js";
import { confirmDialog } from "../components/dialog.js";
import { toast, toastError } from "../components/toast.js";
import { moduleSettings } from "../components/modulesettings.js";
import { RunHistoryChart } from "../components/charts.js";

export default async function moduleDetail(ctx) {
  const { root, scope, params } = ctx;
  const id = params.id;
  const mod = await api.get(`/modules/${encodeURIComponent(id)}`, null, scope.signal);
  ctx.setTitle(mod.name || id);

  const uninstallBtn = button("Uninstall", { kind: "danger", icon: "trash" });
  uninstallBtn.addEventListener("click", async () => {
    const yes = await confirmDialog({
      title: `Uninstall ${mod.name || id}?`,
      body: "The module's folder is removed from the modules directory. Jobs it already ran, with their logs and results, are kept.",
      confirmLabel: "Uninstall",
      danger: true,
    });
    if (!yes) return;
    uninstallBtn.disabled = true;
    try {
      await api.del(`/modules/${encodeURIComponent(id)}`);
      toast(`Uninstalled ${mod.name || id}`);
      ctx.navigate("#/modules");
    } catch (err) {
      uninstallBtn.disabled = false;
      toastError(err);
    }
  });

  const caps = (mod.capabilities || []).map((c) => h("span", { class: "chip" }, c));
  const about = h("dl", { class: "kv" },
    row("Id", h("code", null, mod.id || id)),
    row("Version", mod.version || "—"),
    row("Capabilities", caps.length ? h("span", { class: "chips" }, caps) : "none"),
    row("Entrypoint", h("code", null, mod.entrypoint || "main.py")),
    mod.path ? row("Folder", h("code", null, mod.path)) : null,
    mod.source ? row("Source", h("code", null, typeof mod.source === "string" ? mod.source : JSON.stringify(mod.source))) : null,
    mod.requirements ? row("Requirements", h("code", null, Array.isArray(mod.requirements) ? mod.requirements.join(", ") : String(mod.requirements))) : null,
  );

  const jobsList = h("ul", { class: "job-list" }, h("li", { class: "loading" }, "Loading…"));
  const history = new RunHistoryChart();
  scope.add(() => history.destroy());

  root.append(
    h("div", null,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/modules" }, "Modules"), ico("chevronRight"), h("span", null, mod.name || id)),
      h("div", { class: "page-head" },
        h("div", null,
          h("div", { class: "title-row" }, h("h1", null, mod.name || id), h("span", { class: "version" }, `v${mod.version || "?"}`)),
          h("p", { class: "sub" }, mod.description || "No description.")),
        h("div", { class: "page-actions" }, uninstallBtn,
          h("a", { class: "btn", id: "md-schedule", href: `#/schedules/new/${encodeURIComponent(id)}` }, ico("clock"), "Schedule…"),
          h("a", { class: "btn btn-primary", href: `#/run/${encodeURIComponent(id)}` }, ico("play"), "Run")))),
    h("div", { class: "grid two-col" },
      h("div", { class: "stack", style: { gap: "16px" } },
        card("Run history", history.figure, { id: "md-history", hint: "the last 100 runs" }),
        card("Inputs", paramTable(mod.inputs, "This module takes no inputs."), { flush: true, id: "md-inputs" }),
        card("Settings", moduleSettings(mod, { signal: scope.signal }), { flush: !(mod.settings || []).length, id: "md-settings" }),
        card("Manifest", h("pre", { class: "code-block", tabindex: "0", "aria-label": "Full manifest" }, JSON.stringify(mod, null, 2)), { id: "md-manifest", hint: "module.json as the daemon read it" })),
      h("div", { class: "stack", style: { gap: "16px" } },
        card("About", about, { id: "md-about" }),
        card("Recent jobs", jobsList, { flush: true, id: "md-jobs", actions: h("a", { class: "btn btn-sm btn-ghost", href: `#/jobs?module_id=${encodeURIComponent(id)}` }, "All", ico("arrowRight")) }))),
  );

  scope.interval(() => tickDurations(root), 1000);
  const loadJobs = async () => {
    const data = await api.get("/jobs", { module_id: id, limit: 6 }, scope.signal);
    if (!data.jobs.length) {
      jobsList.replaceChildren(h("li", null, empty("Not run yet", "Jobs of this module will be listed here.", "play")));
      return;
    }
    jobsList.replaceChildren(...data.jobs.map((job) => h("li", { class: "job-item" },
      h("div", { class: "title" }, h("a", { href: `#/jobs/${job.id}` }, h("span", { class: "mono" }, shortId(job.id))), badge(job.status)),
      h("div", { class: "side muted" }, timeShort(job.started_at || job.created_at)),
      h("div", { class: "meta" }, liveDuration(job), h("span", null, plural(job.result_count ?? 0, "result"))))));
  };
  const loadHistory = async () => {
    const data = await api.get("/jobs", { module_id: id, limit: 100 }, scope.signal);
    await history.set(data.jobs);
  };
  const refresh = scope.throttle(() => { loadJobs().catch(() => {}); loadHistory().catch(() => {}); }, 1000);
  loadHistory().catch(() => {});
  scope.on(ctx.events, "job", (e) => { if (e.detail.module_id === id) refresh(); });
  await loadJobs();
}

function row(label, value) {
  return [h("dt", null, label), h("dd", null, value)];
}

export function paramTable(list, emptyText) {
  if (!list || !list.length) return h("p", { class: "muted", style: { padding: "16px 18px" } }, emptyText);
  return h("div", { class: "table-wrap" }, h("table", { class: "table" },
    h("thead", null, h("tr", null, h("th", null, "Field"), h("th", null, "Type"), h("th", null, "Default"), h("th", null, "Description"))),
    h("tbody", null, list.map((p) => h("tr", null,
      h("td", null, h("span", { class: "cell-main mono" }, p.id), p.required ? h("span", { class: "req", title: "required" }, " *") : null),
      h("td", null, h("span", { class: "chip" }, p.type || "text")),
      h("td", { class: "mono" }, p.default === undefined || p.default === null ? h("span", { class: "muted" }, "—") : JSON.stringify(p.default)),
      h("td", { class: "cell-sub" }, p.description || ""))))));
}
