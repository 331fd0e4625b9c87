// Small pieces of job display: status badge, progress bar, live duration.
import { h } from "../dom.js";
import { duration, jobDurationMs, num, progressInfo } from "../format.js";

export function badge(status) {
  return h("span", { class: "badge", dataset: { status: status || "unknown" } }, status || "unknown");
}

export function progressBar(progress, { status } = {}) {
  const track = h("div", { class: "progress-track" }, h("div", { class: "progress-bar" }));
  const text = h("span", { class: "progress-text" });
  const el = h("div", { class: "progress", role: "progressbar", "aria-label": "Progress" }, track, text);
  updateProgress(el, progress, status);
  return el;
}

export function updateProgress(el, progress, status) {
  const info = progressInfo(progress);
  const bar = el.querySelector(".progress-bar");
  const track = el.querySelector(".progress-track");
  const text = el.querySelector(".progress-text");
  const running = status === "running" || status === "pending" || status === undefined;
  if (info && info.pct !== null) {
    track.classList.remove("indeterminate");
    bar.style.width = `${info.pct.toFixed(1)}%`;
    text.textContent = `${Math.floor(info.pct)}%`;
    text.title = `${num(info.done)} of ${num(info.total)}`;
    el.setAttribute("aria-valuenow", String(Math.round(info.pct)));
    el.setAttribute("aria-valuemin", "0");
    el.setAttribute("aria-valuemax", "100");
  } else {
    track.classList.toggle("indeterminate", running);
    bar.style.width = running ? "30%" : "100%";
    text.textContent = info ? `${num(info.done)} done` : "";
    el.removeAttribute("aria-valuenow");
  }
}

/** A duration that a view ticker refreshes each second while the job runs. */
export function liveDuration(job) {
  const el = h("span", { class: "nowrap", dataset: { duration: "" } });
  setDurationJob(el, job);
  return el;
}

export function setDurationJob(el, job) {
  el.dataset.started = job.started_at || "";
  el.dataset.completed = job.completed_at || "";
  el.textContent = duration(jobDurationMs(job));
}

export function tickDurations(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll("[data-duration]")) {
    if (!el.dataset.started || el.dataset.completed) continue;
    el.textContent = duration(jobDurationMs({ started_at: el.dataset.started, completed_at: null }, now));
  }
}
