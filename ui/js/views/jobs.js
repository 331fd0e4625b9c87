// Jobs: every job, newest first; found by text, status, module, time and sorted; live over
// /events. The filter lives in the URL (#/jobs?q=...&since=2d&sort=duration), so a view can
// be shared and survives a reload. Rows can be selected for bulk actions (components/selection.js).
import { api } from "../api.js";
import { h, replace, empty, ico } from "../dom.js";
import { isActive, num, shortId, timeShort, timeFull } from "../format.js";
import { badge, liveDuration, progressBar, tickDurations, updateProgress } from "../components/status.js";
import { deleteJobs, stopJob } from "../components/jobactions.js";
import { createSelection } from "../components/selection.js";
import { href } from "../router.js";

const STATUSES = ["all", "running", "pending", "completed", "failed", "stopped"];
const PAGE = 50;
const SEARCH_DELAY = 300; // ms after the last key before the list is asked again
const SINCE = [["", "Any time"], ["1d", "Last 24 hours"], ["2d", "Last 2 days"], ["7d", "Last 7 days"], ["30d", "Last 30 days"]];
const SORTS = [["created:desc", "Newest first"], ["created:asc", "Oldest first"], ["duration:desc", "Longest first"], ["results:desc", "Most results first"]];
const COLUMNS = 7;

/** The filter as the URL holds it (unknown values are kept: the daemon says what is wrong). */
function filterFrom(query) {
  return {
    q: query.q || "",
    status: STATUSES.includes(query.status) && query.status !== "all" ? query.status : "",
    module_id: query.module_id || "",
    since: query.since || "",
    until: query.until || "",
    sort: query.sort || "created",
    order: query.order || "desc",
  };
}

function filterHash(filter) {
  const query = { ...filter };
  if (query.sort === "created") delete query.sort;
  if (query.order === "desc") delete query.order;
  return href("/jobs", query);
}

export default async function jobs(ctx) {
  const { root, scope, events, query } = ctx;
  ctx.setTitle("Jobs");
  const filter = filterFrom(query);

  const filterButtons = STATUSES.map((s) => h("button", { type: "button", "aria-pressed": String(s === (filter.status || "all")), dataset: { status: s },
    onclick: () => change({ status: s === "all" ? "" : s }) },
    s === "all" ? "All" : s[0].toUpperCase() + s.slice(1), h("span", { class: "count" })));
  const moduleSelect = h("select", { class: "select", id: "jobs-module", style: { width: "auto", minWidth: "170px" },
    onchange: (e) => change({ module_id: e.target.value }) },
    h("option", { value: "" }, "All modules"));
  const searchBox = h("input", { class: "input", id: "jobs-search", type: "search", value: filter.q, autocomplete: "off",
    placeholder: "Search id, module, error, inputs…", style: { width: "280px" },
    oninput: () => typing(),
    onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); change({ q: searchBox.value.trim() }); } } });
  const sinceOptions = SINCE.some(([v]) => v === filter.since) ? SINCE : [...SINCE, [filter.since, `Since ${filter.since}`]];
  const sinceSelect = h("select", { class: "select", id: "jobs-since", style: { width: "auto" }, onchange: (e) => change({ since: e.target.value }) },
    sinceOptions.map(([v, label]) => h("option", { value: v, selected: v === filter.since }, label)));
  const sortKey = `${filter.sort}:${filter.order}`;
  const sortOptions = SORTS.some(([v]) => v === sortKey) ? SORTS : [...SORTS, [sortKey, `${filter.sort}, ${filter.order}`]];
  const sortSelect = h("select", { class: "select", id: "jobs-sort", style: { width: "auto" },
    onchange: (e) => { const [sort, order] = e.target.value.split(":"); change({ sort, order }); } },
    sortOptions.map(([v, label]) => h("option", { value: v, selected: v === sortKey }, label)));
  const chips = h("div", { class: "chips filter-chips", role: "group", "aria-label": "Active filters" });
  const selection = createSelection({
    noun: ["job", "jobs"],
    actions: [{ id: "stop", label: "Stop", icon: "stop", kind: "danger", applies: (job) => isActive(job.status),
      run: async (chosen) => { await Promise.all(chosen.map((job) => stopJob(job.id))); } },
    { id: "delete", label: "Delete", icon: "trash", kind: "danger", applies: (job) => !isActive(job.status),
      run: async (chosen) => { removeRows(await deleteJobs(chosen.map((job) => job.id))); } }],
  });
  const tbody = h("tbody");
  const pager = h("div", { class: "pager" });
  const tableCard = h("section", { class: "card", "aria-label": "Jobs" },
    h("div", { class: "table-wrap" }, h("table", { class: "table", id: "jobs-table" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-select" }, selection.allBox),
        h("th", null, "Module"), h("th", null, "Status"), h("th", null, "Started"),
        h("th", { class: "num" }, "Results"), h("th", { class: "col-progress" }, "Progress"), h("th", null, h("span", { class: "sr-only" }, "Actions")))),
      tbody)),
    pager);

  root.append(
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Jobs"), h("p", { class: "sub" }, "Every job the engine has run, newest first. Search finds older ones.")),
      h("div", { class: "page-actions" }, h("a", { class: "btn btn-primary", href: "#/modules" }, ico("play"), "Start a job"))),
    h("div", { class: "page-head jobs-filters", style: { alignItems: "center" } },
      h("div", { class: "segmented", role: "group", "aria-label": "Filter by status" }, filterButtons),
      h("div", { class: "page-actions", style: { flexWrap: "wrap" } },
        h("label", { class: "sr-only", for: "jobs-search" }, "Search jobs"), searchBox,
        h("label", { class: "sr-only", for: "jobs-since" }, "Created"), sinceSelect,
        h("label", { class: "sr-only", for: "jobs-sort" }, "Sort"), sortSelect,
        h("label", { class: "sr-only", for: "jobs-module" }, "Module"), moduleSelect)),
    h("div", { class: "jobs-bar" }, chips, selection.bar),
    tableCard,
  );

  const rows = new Map();
  let cursor = null;
  let loading = 0; // the newest list request: an older answer that comes late is dropped
  let searchTimer = null;
  scope.add(() => clearTimeout(searchTimer));
  selection.shown(() => [...rows.entries()].map(([id, tr]) => [id, tr.__job]));

  /** A new filter: into the URL (no new view: the search box keeps its focus), then the list. */
  function change(patch, { typed = false } = {}) {
    Object.assign(filter, patch);
    clearTimeout(searchTimer);
    const hash = filterHash(filter);
    if (hash !== window.location.hash) {
      if (typed) history.replaceState(null, "", hash);
      else history.pushState(null, "", hash);
    }
    for (const btn of filterButtons) btn.setAttribute("aria-pressed", String(btn.dataset.status === (filter.status || "all")));
    renderChips();
    selection.reset();
    loadPage(null).catch(() => {});
  }

  function typing() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      if (searchBox.value.trim() !== filter.q) change({ q: searchBox.value.trim() }, { typed: true });
    }, SEARCH_DELAY);
  }

  function renderChips() {
    const chip = (label, patch, after = () => {}) => h("span", { class: "chip filter-chip" }, label,
      h("button", { type: "button", class: "chip-remove", "aria-label": `Remove filter ${label}`,
        onclick: () => { after(); change(patch); } }, "×"));
    const list = [];
    if (filter.q) list.push(chip(`Search: ${filter.q}`, { q: "" }, () => { searchBox.value = ""; }));
    if (filter.status) list.push(chip(`Status: ${filter.status}`, { status: "" }));
    if (filter.module_id) list.push(chip(`Module: ${filter.module_id}`, { module_id: "" }, () => { moduleSelect.value = ""; }));
    if (filter.since) list.push(chip(`Since: ${filter.since}`, { since: "" }, () => { sinceSelect.value = ""; }));
    if (filter.until) list.push(chip(`Until: ${filter.until}`, { until: "" }));
    if (filter.sort !== "created" || filter.order !== "desc") {
      const label = (SORTS.find(([v]) => v === `${filter.sort}:${filter.order}`) || [null, `${filter.sort}, ${filter.order}`])[1];
      list.push(chip(`Sort: ${label}`, { sort: "created", order: "desc" }, () => { sortSelect.value = "created:desc"; }));
    }
    replace(chips, list);
    chips.hidden = list.length === 0;
  }

  function narrowed() {
    return Boolean(filter.q || filter.status || filter.module_id || filter.since || filter.until);
  }

  /** Whether a job that just appeared belongs at the top of this list (only in the default order). */
  function takesNew(job) {
    if (filter.sort !== "created" || filter.order !== "desc" || filter.q || filter.until) return false;
    if (filter.status && job.status !== filter.status) return false;
    if (filter.module_id && job.module_id !== filter.module_id) return false;
    return true;
  }

  async function loadPage(before) {
    const ticket = ++loading;
    let data;
    try {
      data = await api.get("/jobs", { ...filter, limit: PAGE, before }, scope.signal);
    } catch (err) {
      if (ticket !== loading || err.name === "AbortError") return;
      tbody.replaceChildren();
      rows.clear();
      const field = err.body && err.body.field ? ` (${err.body.field})` : "";
      tbody.append(h("tr", { class: "empty-row" }, h("td", { colspan: String(COLUMNS) },
        empty(`This filter cannot be used${field}`, (err.body && err.body.detail) || String(err.message || err), "alert"))));
      cursor = null;
      renderPager();
      return;
    }
    if (ticket !== loading) return;
    if (!before) {
      tbody.replaceChildren();
      rows.clear();
    }
    for (const job of data.jobs) addRow(job, "end");
    cursor = data.next_cursor || null;
    renderPager();
    renderEmpty();
    selection.refresh();
  }

  function addRow(job, where) {
    const tr = jobRow(job, selection);
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
    if (existing) existing.remove();
    const cell = narrowed()
      ? empty("No jobs match", "Remove a filter above, or search for something else.", "list")
      : empty(filter.status ? `No ${filter.status} jobs` : "No jobs yet", "Start one from the Modules page.", "list");
    tbody.append(h("tr", { class: "empty-row" }, h("td", { colspan: String(COLUMNS) }, cell)));
  }

  function renderPager() {
    const more = cursor ? h("button", { class: "btn btn-sm", type: "button", onclick: async (e) => { e.target.disabled = true; await loadPage(cursor); } }, "Load more jobs") : null;
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
    if (filter.module_id) ids.add(filter.module_id);
    for (const mid of [...ids].sort()) moduleSelect.append(h("option", { value: mid, selected: mid === filter.module_id }, mid));
  }

  const refreshCounts = scope.throttle(() => loadCounts().catch(() => {}), 1000);

  scope.on(events, "job", (e) => {
    const job = e.detail;
    const tr = rows.get(job.id);
    if (tr) {
      const next = jobRow(job, selection);
      tr.replaceWith(next);
      rows.set(job.id, next);
    } else if (takesNew(job)) {
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
  scope.on(events, "jobs_deleted", (e) => removeRows(e.detail));

  /** Deleted jobs leave the list (and the selection) at once. */
  function removeRows(ids) {
    let removed = 0;
    for (const id of ids) {
      const tr = rows.get(id);
      if (tr) { tr.remove(); rows.delete(id); removed += 1; }
      selection.forget(id);
    }
    if (removed) { renderEmpty(); refreshCounts(); }
  }
  scope.interval(() => tickDurations(root), 1000);

  renderChips();
  await Promise.all([loadPage(null), loadCounts(), loadModules()]);
}

function jobRow(job, selection) {
  const active = isActive(job.status);
  const go = () => { window.location.hash = `#/jobs/${job.id}`; };
  const stopBtn = active
    ? h("button", { class: "btn btn-sm btn-danger", type: "button", "aria-label": `Stop job ${shortId(job.id)}`,
        onclick: (e) => { e.stopPropagation(); stopJob(job.id, e.currentTarget); } }, ico("stop"), "Stop")
    : null;
  const tr = h("tr", { class: "clickable", dataset: { job: job.id, status: job.status }, onclick: go },
    h("td", { class: "col-select" }, selection.box(job.id, job, `job ${shortId(job.id)} (${job.module_id})`)),
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
  tr.__job = job;
  return tr;
}
