// Jobs: every job, newest first, filtered by status or module; live over /events.
import { api } from "../api.js";
import { h, replace, empty, ico } from "../dom.js";
import { isActive, num, shortId, timeShort, timeFull } from "../format.js";
import { badge, liveDuration, progressBar, tickDurations, updateProgress } from "../components/status.js";
import { stopJob } from "../components/jobactions.js";
import { href } from "../router.js";

const STATUSES = ["all", "running", "pending", "completed", "failed", "stopped"];
const PAGE = 50;

export default async function jobs(ctx) {
  const { root, scope, events, query } = ctx;
  ctx.setTitle("Jobs");
  const status = STATUSES.includes(query.status) ? query.status : "all";
  const moduleId = query.module_id || "";

  const filterButtons = STATUSES.map((s) => h("button", { type: "button", "aria-pressed": String(s === status), dataset: { status: s },
    onclick: () => ctx.navigate(href("/jobs", { status: s === "all" ? "" : s, module_id: moduleId })) },
    s === "all" ? "All" : s[0].toUpperCase() + s.slice(1), h("span", { class: "count" })));
  const moduleSelect = h("select", { class: "select", id: "jobs-module", style: { width: "auto", minWidth: "170px" },
    onchange: (e) => ctx.navigate(href("/jobs", { status: status === "all" ? "" : status, module_id: e.target.value })) },
    h("option", { value: "" }, "All modules"));
  const tbody = h("tbody");
  const pager = h("div", { class: "pager" });
  const tableCard = h("section", { class: "card", "aria-label": "Jobs" },
    h("div", { class: "table-wrap" }, h("table", { class: "table", id: "jobs-table" },
      h("thead", null, h("tr", null,
        h("th", null, "Module"), h("th", null, "Status"), h("th", null, "Started"),
        h("th", { class: "num" }, "Results"), h("th", { class: "col-progress" }, "Progress"), h("th", null, h("span", { class: "sr-only" }, "Actions")))),
      tbody)),
    pager);

  root.append(
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Jobs"), h("p", { class: "sub" }, "Every job the engine has run, newest first.")),
      h("div", { class: "page-actions" }, h("a", { class: "btn btn-primary", href: "#/modules" }, ico("play"), "Start a job"))),
    h("div", { class: "page-head", style: { alignItems: "center" } },
      h("div", { class: "segmented", role: "group", "aria-label": "Filter by status" }, filterButtons),
      h("div", { class: "page-actions" }, h("label", { class: "sr-only", for: "jobs-module" }, "Module"), moduleSelect)),
    tableCard,
  );

  const rows = new Map();
  let cursor = null;

  function matches(job) {
    if (status !== "all" && job.status !== status) return false;
    if (moduleId && job.module_id !== moduleId) return false;
    return true;
  }

  async function loadPage(before) {
    const data = await api.get("/jobs", { status: status === "all" ? "" : status, module_id: moduleId, limit: PAGE, before }, scope.signal);
    if (!before) {
      tbody.replaceChildren();
      rows.clear();
    }
    for (const job of data.jobs) addRow(job, "end");
    cursor = data.next_cursor || null;
    renderPager();
    renderEmpty();
  }

  function addRow(job, where) {
    const tr = jobRow(job);
    rows.set(job.id, tr);
    if (where === "start") tbody.prepend(tr);
    else tbody.append(tr);
  }

  function renderEmpty() {
    const existing = tbody.querySelector(".empty-row");
    if (rows.size) {
      if (existing) existing.remove();
      return;
    }
    if (!existing) {
      const what = status === "all" ? "No jobs yet" : `No ${status} jobs`;
      tbody.append(h("tr", { class: "empty-row" }, h("td", { colspan: "6" }, empty(what, "Start one from the Modules page.", "list"))));
    }
  }

  function renderPager() {
    const more = cursor ? h("button", { class: "btn btn-sm", type: "button", onclick: async (e) => { e.target.disabled = true; await loadPage(cursor); } }, "Load older jobs") : null;
    replace(pager, h("span", { class: "muted" }, `${num(rows.size)} shown`), more);
    pager.hidden = rows.size === 0;
  }

  async function loadCounts() {
    const s = await api.get("/status", null, scope.signal);
    const counts = s.counts || {};
    const total = Object.values(counts).reduce((a, b) => a + (Number(b) || 0), 0);
    for (const btn of filterButtons) {
      const st = btn.dataset.status;
      btn.querySelector(".count").textContent = num(st === "all" ? total : counts[st] || 0);
    }
  }

  async function loadModules() {
    const data = await api.get("/modules", null, scope.signal);
    const ids = new Set((data.modules || []).map((m) => m.id));
    if (moduleId) ids.add(moduleId);
    for (const mid of [...ids].sort()) moduleSelect.append(h("option", { value: mid, selected: mid === moduleId }, mid));
  }

  const refreshCounts = scope.throttle(() => loadCounts().catch(() => {}), 1000);

  scope.on(events, "job", (e) => {
    const job = e.detail;
    const tr = rows.get(job.id);
    if (tr) {
      const next = jobRow(job);
      tr.replaceWith(next);
      rows.set(job.id, next);
    } else if (matches(job)) {
      addRow(job, "start");
      renderEmpty();
      renderPager();
    }
    refreshCounts();
  });
  scope.on(events, "progress", (e) => {
    const tr = rows.get(e.detail.id);
    const bar = tr && tr.querySelector(".progress");
    if (bar) updateProgress(bar, e.detail.progress, tr.dataset.status);
  });
  scope.on(events, "resync", () => { loadPage(null).catch(() => {}); refreshCounts(); });
  scope.interval(() => tickDurations(root), 1000);

  await Promise.all([loadPage(null), loadCounts(), loadModules()]);
}

function jobRow(job) {
  const active = isActive(job.status);
  const go = () => { window.location.hash = `#/jobs/${job.id}`; };
  const stopBtn = active
    ? h("button", { class: "btn btn-sm btn-danger", type: "button", "aria-label": `Stop job ${shortId(job.id)}`,
        onclick: (e) => { e.stopPropagation(); stopJob(job.id, e.currentTarget); } }, ico("stop"), "Stop")
    : null;
  return h("tr", { class: "clickable", dataset: { job: job.id, status: job.status }, onclick: go },
    h("td", null,
      h("a", { class: "cell-main nowrap", href: `#/jobs/${job.id}`, onclick: (e) => e.stopPropagation() }, job.module_id),
      h("div", { class: "cell-sub mono" }, shortId(job.id))),
    h("td", null, badge(job.status)),
    h("td", { class: "nowrap" },
      h("div", { title: timeFull(job.started_at || job.created_at) }, timeShort(job.started_at || job.created_at)),
      h("div", { class: "cell-sub", title: "Duration" }, liveDuration(job))),
    h("td", { class: "num" }, num(job.result_count ?? 0)),
    h("td", { class: "col-progress", style: { minWidth: "150px" } }, active || job.progress ? progressBar(job.progress, { status: job.status }) : h("span", { class: "muted" }, "—")),
    h("td", { class: "actions" }, stopBtn));
}
