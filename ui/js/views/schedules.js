// Schedules: the list (next and last run, status; pause/resume, run now, delete) and one
// schedule's page (its settings, the next fire times, the jobs it started). Live over /events.
import { api } from "../api.js";
import { h, card, empty, ico, button, replace } from "../dom.js";
import { shortId, timeShort, timeFull } from "../format.js";
import { badge } from "../components/status.js";
import { confirmDialog } from "../components/dialog.js";
import { toast, toastError } from "../components/toast.js";

const path = (id, action = "") => `/schedules/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;

/** "cron 0 6 * * * (Europe/Berlin)" or "every 15m". */
export function whenText(s) {
  return s.cron ? `cron ${s.cron} (${s.timezone})` : `every ${s.every}`;
}

function actions(s, after) {
  const act = async (label, fn) => {
    try {
      await fn();
      after();
    } catch (err) {
      toastError(err);
    }
    return label;
  };
  const toggle = s.enabled
    ? button("Pause", { small: true, icon: "stop", attrs: { dataset: { action: "pause" } },
      onClick: () => act("pause", async () => { await api.post(path(s.id, "pause")); toast("Schedule paused"); }) })
    : button("Resume", { small: true, icon: "play", attrs: { dataset: { action: "resume" } },
      onClick: () => act("resume", async () => { await api.post(path(s.id, "resume")); toast("Schedule resumed"); }) });
  const runNow = button("Run now", { small: true, icon: "play", attrs: { dataset: { action: "run" } },
    onClick: () => act("run", async () => {
      const job = await api.post(path(s.id, "run"));
      toast(`Started job ${shortId(job.id)}`);
    }) });
  const remove = button("Delete", { small: true, kind: "danger", icon: "trash", attrs: { dataset: { action: "delete" } },
    onClick: async () => {
      const yes = await confirmDialog({
        title: `Delete the schedule ${s.name || s.module_id}?`,
        body: "It will not run again. The jobs it already started stay, with their logs and results.",
        confirmLabel: "Delete",
        danger: true,
      });
      if (yes) act("delete", async () => { await api.del(path(s.id)); toast("Schedule deleted"); });
    } });
  const edit = h("a", { class: "btn btn-sm", href: `#/schedules/${encodeURIComponent(s.id)}/edit`, dataset: { action: "edit" } }, ico("sliders"), "Edit");
  return h("div", { class: "page-actions", style: { gap: "6px", flexWrap: "wrap" } }, toggle, runNow, edit, remove);
}

function lastRun(s) {
  if (!s.last_run_at) return h("span", { class: "muted" }, "not yet");
  return h("span", { class: "stack", style: { gap: "2px" } },
    h("a", { href: `#/jobs/${s.last_job_id}`, title: timeFull(s.last_run_at) }, timeShort(s.last_run_at)),
    s.last_status ? badge(s.last_status) : null);
}

function nextRun(s) {
  if (!s.enabled) return h("span", { class: "muted" }, "paused");
  return h("span", { title: timeFull(s.next_run_at) }, timeShort(s.next_run_at), s.queued ? h("span", { class: "muted" }, " (+1 queued)") : null);
}

export default async function schedules(ctx) {
  const { root, scope } = ctx;
  ctx.setTitle("Schedules");
  const body = h("tbody", { id: "schedule-rows" });
  const countHint = h("span", { class: "sub" }, "Loading…");
  const newLink = h("a", { class: "btn btn-primary", href: "#/modules", title: "Pick a module, then press Schedule…" }, ico("plus"), "New schedule");
  root.append(
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Schedules"), h("p", { class: "sub" }, countHint)),
      h("div", { class: "page-actions" }, newLink)),
    card(null, h("div", { class: "table-wrap" }, h("table", { class: "table", id: "schedule-table" },
      h("thead", null, h("tr", null, ["Schedule", "When", "Next run", "Last run", "Skipped", ""].map((t) => h("th", null, t)))),
      body)), { flush: true }),
  );

  async function load() {
    const data = await api.get("/schedules", null, scope.signal);
    const list = data.schedules || [];
    countHint.textContent = list.length === 1 ? "1 schedule." : `${list.length} schedules.`;
    if (!list.length) {
      replace(body, h("tr", null, h("td", { colspan: 6 }, empty("No schedules yet", "Open a module and press Schedule… to run it every morning, or every 15 minutes.", "clock"))));
      return;
    }
    replace(body, list.map((s) => h("tr", { dataset: { id: s.id, enabled: String(s.enabled) } },
      h("td", null, h("a", { class: "cell-main", href: `#/schedules/${encodeURIComponent(s.id)}` }, s.name || s.module_id),
        h("div", { class: "cell-sub mono" }, s.module_id)),
      h("td", { class: "mono" }, whenText(s)),
      h("td", null, nextRun(s)),
      h("td", null, lastRun(s)),
      h("td", null, String(s.skipped)),
      h("td", null, actions(s, refresh)))));
  }
  const refresh = scope.throttle(() => { load().catch(() => {}); }, 500);
  for (const type of ["schedule", "job", "resync"]) scope.on(ctx.events, type, refresh);
  scope.interval(refresh, 10_000); // the next-run times move on as slots pass
  await load();
}

export async function scheduleDetail(ctx) {
  const { root, scope, params } = ctx;
  const id = params.id;
  const head = h("div");
  const info = h("dl", { class: "kv", id: "schedule-info" });
  const times = h("ol", { class: "mono", id: "schedule-preview", style: { margin: "0", paddingLeft: "22px" } });
  const jobsList = h("ul", { class: "job-list", id: "schedule-jobs" }, h("li", { class: "loading" }, "Loading…"));
  root.append(head,
    h("div", { class: "grid two-col", style: { alignItems: "start" } },
      h("div", { class: "stack", style: { gap: "16px" } },
        card("Schedule", info, { id: "sd-info" }),
        card("Jobs it started", jobsList, { flush: true, id: "sd-jobs" })),
      card("Next fire times", times, { id: "sd-preview", hint: "in the schedule's time zone" })));

  async function load() {
    const s = await api.get(path(id), null, scope.signal);
    ctx.setTitle(s.name || s.module_id);
    replace(head,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/schedules" }, "Schedules"), ico("chevronRight"), h("span", null, s.name || s.module_id)),
      h("div", { class: "page-head" },
        h("div", null, h("h1", null, s.name || s.module_id), h("p", { class: "sub" }, whenText(s), s.enabled ? "" : " · paused")),
        actions(s, () => (s.enabled === undefined ? null : refresh()))));
    const row = (k, v) => [h("dt", null, k), h("dd", null, v)];
    replace(info,
      row("Module", h("a", { href: `#/modules/${encodeURIComponent(s.module_id)}` }, s.module_id)),
      row("When", whenText(s)),
      row("Next run", nextRun(s)),
      row("Last run", lastRun(s)),
      row("If still running", `${s.overlap} (skipped ${s.skipped})`),
      row("Missed slots", `${s.misfire}, grace ${s.misfire_grace}`),
      row("Retries", s.retries ? `${s.retries}, first after ${s.retry_delay} (doubled)` : "none"),
      row("Time limit", s.max_duration || "none"),
      row("Inputs", h("code", null, JSON.stringify(s.inputs))));
    const preview = await api.get(path(id, "preview"), { count: 10 }, scope.signal);
    replace(times, preview.times.map((t) => h("li", { title: t.at }, t.local.replace("T", " ").replace(/:00([+-])/, " $1"))));
    const jobs = await api.get("/jobs", { schedule_id: id, limit: 10 }, scope.signal);
    replace(jobsList, jobs.jobs.length
      ? jobs.jobs.map((job) => h("li", { class: "job-item" },
        h("div", { class: "title" }, h("a", { href: `#/jobs/${job.id}` }, h("span", { class: "mono" }, shortId(job.id))), badge(job.status)),
        h("div", { class: "side muted" }, timeShort(job.created_at)),
        h("div", { class: "meta" }, h("span", null, job.trigger), job.max_attempts > 1 ? h("span", null, `attempt ${job.attempt} of ${job.max_attempts}`) : null)))
      : [h("li", null, empty("No runs yet", "Jobs this schedule starts are listed here.", "play"))]);
  }
  const refresh = scope.throttle(() => {
    load().catch((err) => { if (err && err.status === 404) ctx.navigate("#/schedules"); });
  }, 500);
  for (const type of ["schedule", "job", "resync"]) scope.on(ctx.events, type, refresh);
  await load();
}
