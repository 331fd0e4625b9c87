// One job: live state, live log, results, inputs, checkpoint, error and traceback.
import { api, wsUrl } from "../api.js";
import { h, ico, button, notice } from "../dom.js";
import { isActive, jobDurationMs, num, shortId, timeFull, timeShort } from "../format.js";
import { badge, progressBar, tickDurations, updateProgress, liveDuration } from "../components/status.js";
import { deleteJobs, rerunJob, stopJob } from "../components/jobactions.js";
import { prefillFromJob, setPrefill } from "../components/prefill.js";
import { LogView } from "../components/logview.js";
import { ResultsView } from "../components/results.js";
import { ReconnectingSocket } from "../socket.js";
import { TimelineChart } from "../components/charts.js";

const LOG_PAGE = 10_000;

export default async function jobDetail(ctx) {
  const { root, scope, events, params } = ctx;
  // A state change can come over the event stream while the first fetch is on its way, before
  // the view listens for it (below): note it, and fetch once more when the view is built.
  let job = null;
  let changedMeanwhile = false;
  scope.on(events, "job", (e) => { if (!job && String(e.detail.id).startsWith(params.id)) changedMeanwhile = true; });
  job = await api.get(`/jobs/${encodeURIComponent(params.id)}`, null, scope.signal);
  const id = job.id;
  const moduleId = job.module_id;
  ctx.setTitle(`${moduleId} ${shortId(id)}`);

  // ----- activity chart: the stored timeline, extended live by progress events -----
  const chart = new TimelineChart();
  scope.add(() => chart.destroy());
  const loadTimeline = () => api.get(`/jobs/${encodeURIComponent(id)}/timeline`, { buckets: 200 }, scope.signal)
    .then((timeline) => chart.set(timeline))
    .catch(() => {});

  // ----- header -----
  const titleBadge = h("span");
  const stopBtn = button("Stop", { kind: "danger", icon: "stop", attrs: { id: "job-stop" } });
  stopBtn.addEventListener("click", () => stopJob(id, stopBtn));
  const againBtn = button("Run again", { icon: "play", attrs: { id: "job-rerun" } });
  againBtn.addEventListener("click", async () => {
    const started = await rerunJob(id, againBtn);
    if (started) ctx.navigate(`#/jobs/${started}`);
  });
  const deleteBtn = button("Delete", { kind: "danger", icon: "trash", attrs: { id: "job-delete", title: "Delete this job with its logs, results and checkpoint" } });
  deleteBtn.addEventListener("click", async () => {
    const gone = await deleteJobs([id]);
    if (gone.length) ctx.navigate("#/jobs");
  });
  const editBtn = button("Edit and run", { attrs: { id: "job-edit-run", title: "The run form with this job's values; secrets are left empty" } });
  editBtn.addEventListener("click", () => {
    setPrefill(moduleId, prefillFromJob(job));
    ctx.navigate(`#/run/${encodeURIComponent(moduleId)}`);
  });
  const progressHost = h("div");
  const errorHost = h("div");
  const meta = h("dl", { class: "kv-grid", id: "job-meta" });

  // ----- tabs -----
  const logs = new LogView({ label: `Log of job ${shortId(id)}` });
  scope.add(() => logs.destroy());
  const results = new ResultsView(id, { signal: scope.signal });
  const detailsPanel = h("div", { class: "card-body stack", style: { gap: "18px" } });
  const resultCount = h("span", { class: "count" }, num(job.result_count ?? 0));
  const tabs = [
    { key: "logs", label: "Logs", panel: logs.el },
    { key: "results", label: "Results", panel: results.el, extra: resultCount },
    { key: "details", label: "Inputs & checkpoint", panel: detailsPanel },
  ];
  const tabList = h("div", { class: "tabs", role: "tablist", "aria-label": "Job sections" });
  const panels = h("div");
  let resultsLoaded = false;
  function select(key, focus = false) {
    for (const t of tabs) {
      const on = t.key === key;
      t.button.setAttribute("aria-selected", String(on));
      t.button.tabIndex = on ? 0 : -1;
      t.panelEl.hidden = !on;
      if (on && focus) t.button.focus();
    }
    if (key === "results" && !resultsLoaded) {
      resultsLoaded = true;
      results.load().catch(() => { resultsLoaded = false; });
    }
    if (key === "logs") logs.render(true);
  }
  tabs.forEach((t, i) => {
    t.button = h("button", { class: "tab", type: "button", role: "tab", id: `tab-${t.key}`, "aria-controls": `panel-${t.key}`, onclick: () => select(t.key) }, t.label, t.extra || null);
    t.button.addEventListener("keydown", (e) => {
      const dir = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!dir) return;
      e.preventDefault();
      select(tabs[(i + dir + tabs.length) % tabs.length].key, true);
    });
    t.panelEl = h("div", { role: "tabpanel", id: `panel-${t.key}`, "aria-labelledby": `tab-${t.key}` }, t.panel);
    tabList.append(t.button);
    panels.append(t.panelEl);
  });

  root.append(
    h("div", null,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/jobs" }, "Jobs"), ico("chevronRight"), h("span", { class: "mono" }, shortId(id))),
      h("div", { class: "page-head" },
        h("div", null,
          h("div", { class: "title-row" },
            h("h1", null, h("a", { href: `#/modules/${encodeURIComponent(moduleId)}`, style: { color: "inherit" } }, moduleId)),
            titleBadge),
          h("p", { class: "sub mono", style: { fontSize: "12.5px" } }, id)),
        h("div", { class: "page-actions" }, editBtn, againBtn, stopBtn, deleteBtn))),
    errorHost,
    h("section", { class: "card", "aria-label": "Job facts" }, h("div", { class: "card-body stack", style: { gap: "16px" } }, progressHost, meta)),
    h("section", { class: "card", "aria-label": "Job activity" }, h("div", { class: "card-body" }, chart.figure)),
    h("section", { class: "card", "aria-label": "Job output" }, tabList, panels),
  );
  select("logs");

  function renderJob() {
    titleBadge.replaceChildren(badge(job.status));
    stopBtn.hidden = !isActive(job.status);
    deleteBtn.hidden = isActive(job.status);
    if (isActive(job.status)) stopBtn.disabled = job.status === "stopping";
    resultCount.textContent = num(job.result_count ?? 0);
    const showProgress = isActive(job.status) || (job.progress && job.progress.done !== undefined);
    if (showProgress) {
      const bar = progressHost.querySelector(".progress");
      if (bar) updateProgress(bar, job.progress, job.status);
      else progressHost.replaceChildren(progressBar(job.progress, { status: job.status }));
    } else progressHost.replaceChildren();
    progressHost.hidden = !showProgress;
    logs.setFit(!isActive(job.status));
    renderError();
    renderMeta();
    renderDetails();
  }

  function renderError() {
    if (job.status !== "failed" && !job.error) {
      errorHost.replaceChildren();
      return;
    }
    const body = h("div", { class: "stack", style: { gap: "8px" } }, h("span", { style: { overflowWrap: "anywhere" } }, job.error || "The job failed without an error message."));
    if (job.traceback) {
      body.append(h("details", { open: true }, h("summary", { style: { cursor: "pointer", fontWeight: "500" } }, "Traceback"),
        h("pre", { class: "code-block", style: { marginTop: "8px", background: "var(--surface)" }, tabindex: "0", id: "job-traceback" }, job.traceback)));
    }
    errorHost.replaceChildren(notice(job.status === "failed" ? "bad" : "warn", job.status === "failed" ? "This job failed" : "Error", body));
  }

  function renderMeta() {
    const dur = liveDuration(job);
    const items = [
      job.started_at ? null : ["Created", when(job.created_at)],
      ["Started", when(job.started_at)],
      ["Finished", when(job.completed_at)],
      ["Duration", jobDurationMs(job) === null ? "—" : dur],
      ["Time limit", job.max_duration ? h("span", { title: job.deadline_at ? `until ${timeFull(job.deadline_at)}` : null }, job.max_duration) : "none"],
      ["Results", num(job.result_count ?? 0)],
      ["Log entries", num(job.log_count ?? 0)],
      ["Resumes", num(job.resumes ?? 0)],
      ["Started by", job.schedule_id
        ? h("span", null, h("a", { href: `#/schedules/${encodeURIComponent(job.schedule_id)}`, id: "job-schedule" }, "schedule"), ` (${job.trigger})`)
        : job.trigger || "manual"],
      job.max_attempts > 1 ? ["Attempt", h("span", { id: "job-attempt", title: job.retry_at && job.status === "pending" ? `next attempt at ${timeFull(job.retry_at)}` : null },
        `${job.attempt} of ${job.max_attempts}`)] : null,
      ["Process", job.pid ? `pid ${job.pid}` : "—"],
      ["Exit code", job.exit_code ?? "—"],
      ["Runs on", [job.executor, job.node].filter(Boolean).filter((v, i, a) => a.indexOf(v) === i).join(" · ") || "—"],
    ];
    meta.replaceChildren(...items.filter(Boolean).map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))));
  }

  let detailsKey = "";
  function renderDetails() {
    const key = JSON.stringify([job.inputs, job.settings, job.checkpoint]);
    if (key === detailsKey) return;
    detailsKey = key;
    const block = (title, value, emptyText) => h("div", { class: "stack", style: { gap: "8px" } }, h("h3", null, title),
      value && Object.keys(value).length ? h("pre", { class: "code-block", tabindex: "0", "aria-label": title }, JSON.stringify(value, null, 2)) : h("p", { class: "muted" }, emptyText));
    detailsPanel.replaceChildren(
      h("div", { class: "grid", style: { gridTemplateColumns: "repeat(auto-fit, minmax(260px, 1fr))" } },
        block("Inputs", job.inputs, "No inputs."),
        block("Settings", job.settings, "No settings.")),
      h("div", { id: "job-checkpoint" }, block("Checkpoint", job.checkpoint, "No checkpoint saved yet. A module saves one with save_checkpoint(); a resumed job starts from it.")));
  }

  // New log lines and progress mean the counts moved: refetch the job, at most every 2 s
  // (the event stream carries state changes and progress, not every result).
  const onActivity = scope.throttle(() => { if (isActive(job.status)) reload().catch(() => {}); }, 2000);

  // ----- live log -----
  let lastLogId = null;
  const stream = new ReconnectingSocket(() => wsUrl(`/jobs/${encodeURIComponent(id)}/logs/stream`, { after: lastLogId }), {
    onMessage: (msg) => {
      if (msg.type === "log") {
        if (msg.id !== undefined && msg.id !== null) lastLogId = msg.id;
        logs.push(msg);
        onActivity();
      } else if (msg.type === "end") {
        stream.finish();
        logs.setLive("ended", `Ended${msg.status ? ` · ${msg.status}` : ""}`);
      }
    },
    onState: (state) => {
      if (state === "open" || state === "reopened") logs.setLive("live", "Live");
      else if (state === "down") logs.setLive("down", "Reconnecting…");
    },
  });
  scope.add(() => stream.close());
  // Stored lines come over REST in big pages (far quicker than one WebSocket message per
  // line for a long log), then the stream carries on from the last one.
  backfill()
    .catch(() => {})
    .finally(() => { if (!scope.disposed) stream.start(); });

  async function backfill() {
    let after = 0;
    for (let i = 0; i < 200; i++) {
      const page = await api.get(`/jobs/${encodeURIComponent(id)}/logs`, { after, limit: LOG_PAGE }, scope.signal);
      const entries = page.logs || [];
      logs.pushMany(entries);
      if (entries.length) {
        after = entries[entries.length - 1].id ?? after;
        lastLogId = after;
      }
      if (entries.length < LOG_PAGE || page.next_cursor === null || page.next_cursor === undefined) return;
      after = page.next_cursor;
    }
  }

  // ----- live job state -----
  const refreshResults = scope.throttle(() => { if (resultsLoaded) results.maybeRefresh(job.result_count ?? 0); }, 1000);
  scope.on(events, "job", (e) => {
    if (e.detail.id !== id) return;
    if (isActive(job.status) && !isActive(e.detail.status)) loadTimeline(); // the whole life, now it is over
    job = { ...job, ...e.detail };
    renderJob();
    refreshResults();
  });
  scope.on(events, "progress", (e) => {
    if (e.detail.id !== id) return;
    job.progress = e.detail.progress;
    chart.live(e.detail);
    onActivity();
    const bar = progressHost.querySelector(".progress");
    if (bar) updateProgress(bar, job.progress, job.status);
    else renderJob();
  });
  const reload = async () => {
    job = await api.get(`/jobs/${encodeURIComponent(id)}`, null, scope.signal);
    renderJob();
    refreshResults();
  };
  scope.on(events, "resync", () => reload().catch(() => {}));
  scope.interval(() => tickDurations(root), 1000);

  renderJob();
  loadTimeline();
  if (changedMeanwhile) reload().catch(() => {});
}

function when(iso) {
  return iso ? h("time", { datetime: iso, title: timeFull(iso) }, timeShort(iso)) : "—";
}
