// Overview: daemon health, running jobs with live progress, recent jobs, services.
import { api, isAbort } from "../api.js";
import { h, replace, card, empty, ico } from "../dom.js";
import { ago, duration, isActive, num, plural, shortId, timeShort } from "../format.js";
import { badge, liveDuration, progressBar, setDurationJob, tickDurations, updateProgress } from "../components/status.js";
import { stopJob } from "../components/jobactions.js";
import { browserBody, proxyBody } from "../components/services.js";
import { JobsPerDayChart, busiestModules } from "../components/charts.js";

const RECENT = 8;

export default async function overview(ctx) {
  const { root, scope, events } = ctx;
  ctx.setTitle("Overview");

  const statCards = h("div", { class: "grid stats" });
  const activeList = h("ul", { class: "job-list", "aria-label": "Running jobs" });
  const recentList = h("ul", { class: "job-list", "aria-label": "Recent jobs" });
  const services = h("div");
  const activeCount = h("span", { class: "hint" });
  const perDay = new JobsPerDayChart();
  scope.add(() => perDay.destroy());
  const busiest = h("div");

  root.append(
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Overview"), h("p", { class: "sub" }, "What the engine is doing right now.")),
      h("div", { class: "page-actions" },
        h("a", { class: "btn", href: "#/modules" }, ico("box"), "Modules"),
        h("a", { class: "btn btn-primary", href: "#/jobs" }, ico("list"), "All jobs"))),
    statCards,
    h("div", { class: "grid two-col", id: "ov-history" },
      card("Last 30 days", perDay.figure, { id: "ov-per-day" }),
      card("Busiest modules", busiest, { id: "ov-busiest", hint: "the most jobs in the last 30 days" })),
    h("div", { class: "grid two-col" },
      h("div", { class: "stack", style: { gap: "16px" } },
        card("Running now", activeList, { flush: true, id: "ov-active", actions: activeCount }),
        card("Recent jobs", recentList, { flush: true, id: "ov-recent", actions: h("a", { href: "#/jobs", class: "btn btn-sm btn-ghost" }, "View all", ico("arrowRight")) })),
      h("div", { class: "stack", style: { gap: "16px" } }, services)),
  );

  const state = { status: null, active: new Map(), recent: [] };

  async function loadStatus() {
    try {
      state.status = await api.get("/status", null, scope.signal);
      renderStats();
      renderServices();
    } catch (err) {
      if (!isAbort(err)) throw err;
    }
  }

  async function loadJobs() {
    const [running, pending, latest] = await Promise.all([
      api.get("/jobs", { status: "running", limit: 50 }, scope.signal),
      api.get("/jobs", { status: "pending", limit: 50 }, scope.signal),
      api.get("/jobs", { limit: 30 }, scope.signal),
    ]);
    state.active = new Map();
    for (const job of [...running.jobs, ...pending.jobs]) state.active.set(job.id, job);
    state.recent = latest.jobs.filter((j) => !isActive(j.status)).slice(0, RECENT);
    renderActive();
    renderRecent();
  }

  function renderStats() {
    const s = state.status;
    if (!s) return;
    const counts = s.counts || {};
    const ok = s.status === "running" || s.status === "ok";
    replace(statCards,
      stat("Daemon", h("span", { class: "status-line" }, h("span", { class: `dot ${ok ? "ok" : "warn"}` }), ok ? "Running" : s.status),
        `Version ${s.version || "—"}${s.executor ? ` · ${s.executor} executor` : ""}`, "activity"),
      stat("Uptime", h("span", { id: "uptime" }, s.uptime || duration((s.uptime_seconds || 0) * 1000)), "since the daemon started", "clock"),
      stat("Jobs", h("span", null, num((counts.running || 0) + (counts.pending || 0)), h("span", { class: "muted", style: { fontSize: "14px", fontWeight: "500" } }, " active")),
        `${num(counts.completed || 0)} completed · ${num(counts.failed || 0)} failed · ${num(counts.stopped || 0)} stopped`, "list"),
      stat("Modules", h("a", { href: "#/modules", style: { color: "inherit" } }, num(s.module_count ?? 0)), "installed", "box"));
  }

  function renderServices() {
    const s = state.status;
    if (!s) return;
    const blocks = [];
    blocks.push(card("Proxy", proxyBody(s.proxy),
      { id: "ov-proxy", actions: h("a", { class: "btn btn-sm btn-ghost", href: "#/proxy" }, "Test", ico("arrowRight")) }));
    blocks.push(card("Browser pool", browserBody(s.browser), { id: "ov-browser" }));
    replace(services, h("div", { class: "stack", style: { gap: "16px" } }, blocks));
  }

  function renderActive() {
    const jobs = [...state.active.values()].sort((a, b) => (b.created_at || "").localeCompare(a.created_at || ""));
    activeCount.textContent = jobs.length ? `${jobs.length} active` : "";
    if (!jobs.length) {
      replace(activeList, h("li", null, empty("Nothing running", "Start a job from a module to see it here.", "play")));
      return;
    }
    replace(activeList, jobs.map((job) => activeItem(job)));
  }

  function renderRecent() {
    if (!state.recent.length) {
      replace(recentList, h("li", null, empty("No finished jobs yet", "Completed, failed and stopped jobs appear here.")));
      return;
    }
    replace(recentList, state.recent.map((job) => recentItem(job)));
  }

  function onJob(e) {
    const job = e.detail;
    if (isActive(job.status)) {
      const had = state.active.has(job.id);
      state.active.set(job.id, job);
      const li = activeList.querySelector(`[data-job="${CSS.escape(job.id)}"]`);
      if (had && li) li.replaceWith(activeItem(job));
      else renderActive();
    } else {
      state.active.delete(job.id);
      state.recent = [job, ...state.recent.filter((j) => j.id !== job.id)].slice(0, RECENT);
      renderActive();
      renderRecent();
    }
    refreshStatus();
  }

  function onProgress(e) {
    const { id, progress } = e.detail;
    const job = state.active.get(id);
    if (job) job.progress = progress;
    const li = activeList.querySelector(`[data-job="${CSS.escape(id)}"] .progress`);
    if (li) updateProgress(li, progress, job ? job.status : "running");
  }

  const refreshStatus = scope.throttle(() => loadStatus().catch(() => {}), 1000);

  async function loadStats() {
    const stats = await api.get("/stats/jobs", { days: 30 }, scope.signal);
    replace(busiest, stats.modules.length ? busiestModules(stats.modules) : empty("No jobs yet", "Modules that ran jobs in the last 30 days are ranked here.", "box"));
    await perDay.set(stats);
  }
  const refreshStats = scope.throttle(() => loadStats().catch(() => {}), 5000);
  scope.on(events, "job", refreshStats);

  scope.on(events, "job", onJob);
  scope.on(events, "progress", onProgress);
  scope.on(events, "resync", () => { loadStatus().catch(() => {}); loadJobs().catch(() => {}); });
  scope.interval(() => tickDurations(root), 1000);
  // A slow refresh for the uptime figure only; everything else is pushed over /events.
  scope.interval(() => loadStatus().catch(() => {}), 30_000);

  loadStats().catch(() => {});
  await Promise.all([loadStatus(), loadJobs()]);
}

function stat(label, value, foot, iconName) {
  return h("div", { class: "card stat" },
    h("span", { class: "stat-label" }, ico(iconName), label),
    h("span", { class: "stat-value" }, value),
    h("span", { class: "stat-foot" }, foot));
}

function activeItem(job) {
  return h("li", { class: "job-item", dataset: { job: job.id } },
    h("div", { class: "title" }, h("a", { href: `#/jobs/${job.id}` }, job.module_id), badge(job.status)),
    h("div", { class: "side" },
      h("span", { class: "muted nowrap", title: "Duration" }, liveDuration(job)),
      isActive(job.status) ? h("button", { class: "btn btn-sm btn-danger", type: "button", onclick: () => stopJob(job.id), "aria-label": `Stop job ${shortId(job.id)}` }, ico("stop"), "Stop") : null),
    h("div", { class: "meta" }, h("span", { class: "mono" }, shortId(job.id)), h("span", null, `started ${job.started_at ? ago(job.started_at) : "soon"}`),
      h("span", null, plural(job.result_count ?? 0, "result"))),
    progressBar(job.progress, { status: job.status }));
}

function recentItem(job) {
  const d = liveDuration(job);
  setDurationJob(d, job);
  return h("li", { class: "job-item", dataset: { job: job.id } },
    h("div", { class: "title" }, h("a", { href: `#/jobs/${job.id}` }, job.module_id), badge(job.status)),
    h("div", { class: "side muted" }, h("span", { title: job.completed_at || "" }, timeShort(job.completed_at || job.created_at))),
    h("div", { class: "meta" }, h("span", { class: "mono" }, shortId(job.id)), h("span", null, d), h("span", null, plural(job.result_count ?? 0, "result")),
      job.status === "failed" && job.error ? h("span", { style: { color: "var(--bad)" } }, truncate(job.error, 80)) : null));
}

function truncate(s, n) {
  s = String(s);
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
