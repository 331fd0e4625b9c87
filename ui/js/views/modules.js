// Modules: the installed list, install from a folder or git, sync from modules.yaml, reload.
import { api, isAbort } from "../api.js";
import { h, replace, card, empty, ico, button, notice } from "../dom.js";
import { toast } from "../components/toast.js";
import { clearErrors, showError } from "../components/fields.js";
import { streamInstall } from "../installlog.js";

export default async function modules(ctx) {
  const { root, scope } = ctx;
  ctx.setTitle("Modules");

  const grid = h("div", { class: "module-grid", id: "module-list" });
  const report = h("div", { id: "modules-report", "aria-live": "polite" });
  const installHost = h("div");
  const countHint = h("span", { class: "sub" }, "Loading…");

  const installBtn = button("Install module", { kind: "primary", icon: "plus", attrs: { "aria-expanded": "false", "aria-controls": "install-panel" } });
  const syncBtn = button("Sync", { icon: "sync", attrs: { title: "Install every module listed in modules.yaml" } });
  const reloadBtn = button("Reload", { icon: "refresh", attrs: { title: "Re-read the modules folder" } });

  root.append(
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Modules"), h("p", { class: "sub" }, countHint)),
      h("div", { class: "page-actions" }, reloadBtn, syncBtn, installBtn)),
    installHost,
    report,
    grid,
  );

  async function load() {
    let data;
    try {
      data = await api.get("/modules", null, scope.signal);
    } catch (err) {
      if (isAbort(err)) return;
      throw err;
    }
    const list = (data.modules || []).slice().sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id));
    countHint.textContent = list.length === 1 ? "1 module installed." : `${list.length} modules installed.`;
    if (!list.length) {
      replace(grid, h("div", { class: "card", style: { gridColumn: "1 / -1" } },
        empty("No modules yet", "Install one from a folder or a git repository, or sync the sources in modules.yaml.", "box")));
      return;
    }
    replace(grid, list.map(moduleCard));
  }

  // ----- install panel -----
  let panel = null;
  installBtn.addEventListener("click", () => {
    if (panel) {
      panel.remove();
      panel = null;
      installBtn.setAttribute("aria-expanded", "false");
      return;
    }
    panel = installPanel(async (mod) => {
      toast(`Installed ${mod.name || mod.id} ${mod.version || ""}`.trim());
      report.replaceChildren(notice("ok", `Installed ${mod.name || mod.id}`,
        h("span", null, `Version ${mod.version || "?"} is ready. `, h("a", { href: `#/run/${encodeURIComponent(mod.id)}` }, "Run it"), " or ", h("a", { href: `#/modules/${encodeURIComponent(mod.id)}` }, "see its details"), ".")));
      await load();
    });
    installHost.replaceChildren(panel);
    installBtn.setAttribute("aria-expanded", "true");
    panel.querySelector("input").focus();
  });

  syncBtn.addEventListener("click", async () => {
    syncBtn.disabled = true;
    report.replaceChildren(h("div", { class: "card card-body muted" }, "Syncing modules from modules.yaml…"));
    try {
      const res = await api.post("/modules/sync");
      report.replaceChildren(syncReport(res, () => report.replaceChildren()));
      await load();
    } catch (err) {
      report.replaceChildren(notice("bad", "Sync failed", h("span", null, err.message)));
    } finally {
      syncBtn.disabled = false;
    }
  });

  reloadBtn.addEventListener("click", async () => {
    reloadBtn.disabled = true;
    try {
      const res = await api.post("/modules/reload");
      const errors = res.errors || [];
      const count = (res.modules || []).length;
      if (errors.length) {
        report.replaceChildren(notice("warn", `Reloaded ${count} modules; ${errors.length} could not be loaded`,
          h("ul", { class: "report-list" }, errors.map((e) => h("li", null, h("code", null, e.path || "?"), h("span", { class: "err" }, e.error || ""))))));
      } else {
        toast(`Reloaded ${count} module${count === 1 ? "" : "s"}`);
        report.replaceChildren();
      }
      await load();
    } catch (err) {
      report.replaceChildren(notice("bad", "Reload failed", h("span", null, err.message)));
    } finally {
      reloadBtn.disabled = false;
    }
  });

  await load();
}

function moduleCard(mod) {
  const caps = (mod.capabilities || []).map((c) => h("span", { class: "chip" }, c));
  return h("article", { class: "card module-card", dataset: { module: mod.id } },
    h("div", { class: "top" },
      h("div", { style: { minWidth: "0" } },
        h("h2", null, h("a", { href: `#/modules/${encodeURIComponent(mod.id)}` }, mod.name || mod.id)),
        h("div", { class: "id" }, mod.id)),
      h("span", { class: "version" }, `v${mod.version || "?"}`)),
    h("p", { class: "desc" }, mod.description || h("span", { class: "muted" }, "No description.")),
    h("div", { class: "foot" },
      h("div", { class: "chips", role: "group", "aria-label": "Capabilities" }, caps),
      h("div", { class: "page-actions" },
        h("a", { class: "btn btn-sm", href: `#/modules/${encodeURIComponent(mod.id)}`, "aria-label": `Details of ${mod.name || mod.id}` }, "Details"),
        h("a", { class: "btn btn-sm btn-primary", href: `#/run/${encodeURIComponent(mod.id)}`, "aria-label": `Run ${mod.name || mod.id}` }, ico("play"), "Run"))));
}

function installPanel(onInstalled) {
  let mode = "folder";
  const formHost = h("div");
  const tabFolder = h("button", { type: "button", "aria-pressed": "true" }, ico("folder"), "From a folder");
  const tabGit = h("button", { type: "button", "aria-pressed": "false" }, ico("git"), "From git");
  const seg = h("div", { class: "segmented", role: "group", "aria-label": "Install source" }, tabFolder, tabGit);

  function field(id, label, name, help, placeholder) {
    return h("div", { class: "field", dataset: { field: name } },
      h("label", { class: "field-label", for: id }, label),
      h("input", { class: "input", id, name, placeholder, autocomplete: "off", spellcheck: "false" }),
      help ? h("span", { class: "help" }, help) : null);
  }

  function render() {
    tabFolder.setAttribute("aria-pressed", String(mode === "folder"));
    tabGit.setAttribute("aria-pressed", String(mode === "git"));
    const general = h("div");
    const submit = button("Install", { kind: "primary", type: "submit", icon: "download" });
    const fields = mode === "folder"
      ? [field("install-path", "Folder path", "source_path", "A folder on this machine that contains module.json.", "/home/me/modules/hello")]
      : [h("div", { class: "row" },
          field("install-url", "Repository URL", "repo_url", "https, ssh or a local path to a git repository.", "https://github.com/org/module.git"),
          field("install-sub", "Subfolder (optional)", "module_name", "When the repository holds several modules.", "my-module"))];
    // What the resolver and installer print while the module's environment is built.
    const log = h("pre", {
      id: "install-log", class: "mono", hidden: true, "aria-live": "polite", "aria-label": "Install log",
      style: { maxHeight: "14em", overflow: "auto", fontSize: "12px", whiteSpace: "pre-wrap", margin: "0" },
    });
    const form = h("form", { class: "form", novalidate: true, id: "install-form" }, general, fields, h("div", { class: "form-actions" }, submit), log);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(form);
      general.replaceChildren();
      log.textContent = "";
      log.hidden = true;
      const onLine = (line) => {
        log.hidden = false;
        log.textContent += line + "\n";
        log.scrollTop = log.scrollHeight;
      };
      submit.disabled = true;
      try {
        const mod = mode === "folder"
          ? await streamInstall("/modules/install", { source_path: form.elements.source_path.value.trim() }, onLine)
          : await streamInstall("/modules/install-git", cleanGit(form.elements.repo_url.value, form.elements.module_name.value), onLine);
        form.reset();
        await onInstalled(mod);
      } catch (err) {
        if (!showError(form, err)) general.replaceChildren(notice("bad", "Could not install the module", h("span", null, err.message)));
      } finally {
        submit.disabled = false;
      }
    });
    formHost.replaceChildren(form);
  }

  tabFolder.addEventListener("click", () => { mode = "folder"; render(); });
  tabGit.addEventListener("click", () => { mode = "git"; render(); });
  render();
  return h("div", { id: "install-panel" }, card("Install a module", h("div", { class: "stack", style: { gap: "16px" } }, seg, formHost), { id: "install-title" }));
}

function cleanGit(url, sub) {
  const body = { repo_url: url.trim() };
  if (sub.trim()) body.module_name = sub.trim();
  return body;
}

function syncReport(res, onClose) {
  const installed = res.installed || [];
  const failed = res.failed || [];
  const skipped = res.skipped || [];
  const label = (item) => (typeof item === "string" ? item : item.id || item.name || item.source || JSON.stringify(item));
  const section = (title, items, render) => h("div", { class: "stack", style: { gap: "6px" }, dataset: { report: title.toLowerCase() } },
    h("h3", null, `${title} (${items.length})`),
    items.length ? h("ul", { class: "report-list" }, items.map(render)) : h("span", { class: "muted" }, "None"));
  const kind = failed.length ? "warn" : "ok";
  const where = res.config_path
    ? h("p", { class: "muted", style: { fontSize: "13px" } }, res.config_found === false ? "No sources file at " : "Sources from ", h("code", null, res.config_path))
    : null;
  return h("div", { class: "card", id: "sync-report" },
    h("div", { class: "card-head" },
      h("div", { class: "stack", style: { gap: "2px" } },
        h("h2", null, h("span", { class: "status-line" }, h("span", { class: `dot ${kind}` }), "Sync report")), where),
      button("Dismiss", { small: true, kind: "ghost", onClick: onClose })),
    h("div", { class: "card-body grid", style: { gridTemplateColumns: "repeat(auto-fit, minmax(220px, 1fr))" } },
      section("Installed", installed, (m) => h("li", null, h("span", { style: { color: "var(--ok)", display: "inline-flex" } }, ico("check")),
        h("a", { href: `#/modules/${encodeURIComponent(m.id || "")}` }, m.name || label(m)), m.version ? h("span", { class: "version" }, `v${m.version}`) : null)),
      section("Failed", failed, (f) => h("li", { class: "stack", style: { gap: "2px" } },
        h("code", { style: { overflowWrap: "anywhere" } }, `${f.source || "?"}${f.module ? ` → ${f.module}` : ""}`),
        h("span", { class: "err" }, f.error || ""))),
      section("Skipped", skipped, (m) => h("li", { class: "stack", style: { gap: "2px" } }, h("span", null, label(m)), m.reason ? h("span", { class: "muted", style: { fontSize: "12.5px" } }, m.reason) : null))));
}
