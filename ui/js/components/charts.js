// Charts: uPlot (vendored in ui/vendor/uplot, MIT) drawn in the dashboard's own colours.
//
// Each chart is a <figure> with a visible caption, a canvas that screen readers skip and a
// one-sentence summary of what it shows (the numbers a person would read off it), so the
// chart is never the only place a fact lives. uPlot is loaded on first use: views without a
// chart never fetch it.
import { h } from "../dom.js";
import { duration, num, plural } from "../format.js";

const UPLOT = new URL("../../vendor/uplot/uPlot.esm.js", import.meta.url).href;
const UPLOT_CSS = new URL("../../vendor/uplot/uPlot.min.css", import.meta.url).href;
const HEIGHT = 200;

let loading = null;

/** uPlot's constructor, loaded once (with its stylesheet). */
export function loadUplot() {
  if (!loading) {
    if (!document.querySelector(`link[href="${UPLOT_CSS}"]`)) {
      document.head.append(h("link", { rel: "stylesheet", href: UPLOT_CSS }));
    }
    loading = import(UPLOT).then((m) => m.default);
  }
  return loading;
}

/** The theme's colours, read from the CSS variables (light or dark, whichever is on). */
function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    text: v("--text-2"), grid: v("--border"), ok: v("--ok"), run: v("--run"), warn: v("--warn"),
    bad: v("--bad"), idle: v("--idle"), accent: v("--accent"), font: `12px ${v("--font") || "sans-serif"}`,
  };
}

function axis(colors, extra = {}) {
  return { stroke: colors.text, font: colors.font, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 }, ...extra };
}

const rate = (v) => (v === null || v === undefined ? "—" : v >= 100 ? num(Math.round(v)) : num(Math.round(v * 10) / 10));

/**
 * A chart in a figure: `figure` is what a view appends; `draw(opts, data)` (re)builds the
 * uPlot inside it, sized to the figure's width; `summary` is the sentence under it.
 */
class Chart {
  // `titled`: the card around it already shows the caption as its title (then the caption is
  // kept for screen readers only).
  constructor({ id, caption, className = "", titled = false }) {
    this.plotHost = h("div", { class: "chart-plot", "aria-hidden": "true" });
    this.summary = h("p", { class: "chart-summary" });
    this.figure = h("figure", { class: `chart ${className}`.trim(), id, "aria-label": caption },
      h("figcaption", { class: titled ? "chart-caption sr-only" : "chart-caption" }, caption), this.plotHost, this.summary);
    this.plot = null;
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.plotHost);
  }

  width() {
    return Math.max(240, Math.floor(this.plotHost.clientWidth || this.figure.clientWidth || 600));
  }

  async draw(opts, data) {
    const uPlot = await loadUplot();
    if (this.destroyed) return;
    if (this.plot) this.plot.destroy();
    this.plot = new uPlot({ width: this.width(), height: HEIGHT, ...opts }, data, this.plotHost);
    this.figure.dataset.drawn = String(data[0].length);
    requestAnimationFrame(() => this.resize()); // the layout may have moved while uPlot loaded
  }

  resize() {
    if (this.plot && this.plot.width !== this.width()) this.plot.setSize({ width: this.width(), height: HEIGHT });
  }

  destroy() {
    this.destroyed = true;
    this.observer.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}

/**
 * A job's results/s and log lines/s over its life, and its progress, from
 * `GET /jobs/{id}/timeline`; `live()` extends it from the `progress` events of WS /events.
 */
export class TimelineChart extends Chart {
  constructor() {
    super({ id: "job-timeline", caption: "Activity over the job's life", className: "chart-timeline" });
    this.data = null;
    this.percent = false;
    this.last = null; // the last live sample: {t, results, logs}
  }

  /** Draw the timeline answer; returns the draw's promise. */
  set(timeline) {
    const hasTotal = timeline.progress_total.some((t) => t);
    this.percent = hasTotal;
    const progress = timeline.progress_done.map((d, i) => {
      const total = timeline.progress_total[i];
      if (d === null || d === undefined) return null;
      return hasTotal ? (total ? Math.min(100, (100 * d) / total) : null) : d;
    });
    // Each bucket's value sits at its middle: a line through the middles reads as a rate.
    const half = timeline.bucket_seconds / 2;
    this.data = [timeline.time.map((t) => t + half), [...timeline.results_per_second], [...timeline.logs_per_second], progress];
    this.bucket = timeline.bucket_seconds;
    this.lived = Math.max(0, Date.parse(timeline.end) - Date.parse(timeline.start));
    this.totals = { results: timeline.results.reduce((a, b) => a + b, 0), logs: timeline.logs.reduce((a, b) => a + b, 0) };
    this.last = null;
    this.writeSummary();
    return this.redraw();
  }

  /** A `progress` event of a running job: counts so far and its progress. */
  live(event, now = Date.now() / 1000) {
    if (!this.data) return;
    const sample = { t: now, results: event.result_count ?? 0, logs: event.log_count ?? 0 };
    const previous = this.last;
    this.last = sample;
    if (!previous || sample.t - previous.t < 0.2) return;
    const seconds = sample.t - previous.t;
    const p = event.progress;
    let progress = null;
    if (p && p.done !== null && p.done !== undefined) {
      progress = this.percent ? (p.total ? Math.min(100, (100 * p.done) / p.total) : null) : p.done;
    }
    const [t, r, l, pr] = this.data;
    t.push(sample.t);
    r.push(Math.max(0, (sample.results - previous.results) / seconds));
    l.push(Math.max(0, (sample.logs - previous.logs) / seconds));
    pr.push(progress);
    this.totals = { results: sample.results, logs: sample.logs };
    this.lived += seconds * 1000;
    this.writeSummary();
    if (this.plot) this.plot.setData(this.data);
    this.figure.dataset.drawn = String(t.length);
  }

  writeSummary() {
    const [t, r, l] = this.data;
    const peak = (xs) => xs.reduce((m, x) => (x > m ? x : m), 0);
    this.summary.textContent = t.length
      ? `${num(this.totals.results)} results and ${num(this.totals.logs)} log lines over ${secondsText(this.lived / 1000)}; ` +
        `peak ${rate(peak(r))} results/s and ${rate(peak(l))} log lines/s (buckets of ${duration(this.bucket * 1000)}).`
      : "Nothing stored yet.";
  }

  redraw() {
    const c = palette();
    const opts = {
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      scales: { x: { time: true }, rate: { auto: true, range: (u, min, max) => [0, Math.max(1, max)] }, progress: this.percent ? { range: [0, 100] } : { auto: true } },
      axes: [
        axis(c),
        axis(c, { scale: "rate", label: "per second", labelFont: c.font, size: 56 }),
        axis(c, { scale: "progress", side: 1, grid: { show: false }, label: this.percent ? "progress %" : "progress", labelFont: c.font, size: 56 }),
      ],
      series: [
        { label: "Time" },
        { label: "Results/s", scale: "rate", stroke: c.ok, width: 2, fill: `${c.ok}22`, value: (u, v) => rate(v) },
        { label: "Log lines/s", scale: "rate", stroke: c.run, width: 1.5, value: (u, v) => rate(v) },
        { label: this.percent ? "Progress %" : "Progress", scale: "progress", stroke: c.warn, width: 2, dash: [6, 4], spanGaps: true, value: (u, v) => (v === null || v === undefined ? "—" : this.percent ? `${Math.round(v)}%` : num(v)) },
      ],
    };
    return this.draw(opts, this.data);
  }
}

const STATUS_ORDER = ["completed", "failed", "stopped", "running", "pending"];

/** Jobs per day by status (`GET /stats/jobs`), as stacked bars. */
export class JobsPerDayChart extends Chart {
  constructor() {
    super({ id: "jobs-per-day", caption: "Jobs per day, by status, over the last 30 days", titled: true });
  }

  set(stats) {
    const c = palette();
    const colors = { completed: c.ok, failed: c.bad, stopped: c.warn, running: c.run, pending: c.idle };
    const days = stats.per_day;
    const x = days.map((d) => Date.parse(`${d.date}T12:00:00`) / 1000);
    // Stacked by drawing running sums, tallest first: each bar covers the ones below it.
    const sums = [];
    let running = days.map(() => 0);
    for (const status of STATUS_ORDER) {
      running = running.map((v, i) => v + (days[i][status] || 0));
      sums.push({ status, values: running });
    }
    sums.reverse();
    const total = days.reduce((a, d) => a + STATUS_ORDER.reduce((s, k) => s + (d[k] || 0), 0), 0);
    const failed = days.reduce((a, d) => a + (d.failed || 0), 0);
    const busiest = days.reduce((best, d) => {
      const n = STATUS_ORDER.reduce((s, k) => s + (d[k] || 0), 0);
      return n > best.n ? { n, date: d.date } : best;
    }, { n: 0, date: null });
    this.summary.textContent = total
      ? `${num(total)} jobs in the last ${stats.days} days, ${num(failed)} failed; the busiest day was ${busiest.date} with ${num(busiest.n)}.`
      : `No jobs in the last ${stats.days} days.`;
    return loadUplot().then((uPlot) => {
      const bars = uPlot.paths.bars({ size: [0.7, 28] });
      const raw = Object.fromEntries(STATUS_ORDER.map((s) => [s, days.map((d) => d[s] || 0)]));
      const opts = {
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true, range: (u, min, max) => [min - 43_200, max + 43_200] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
        axes: [axis(c, { space: 60 }), axis(c, { size: 44 })],
        series: [
          { label: "Day", value: (u, v) => (v === null ? "—" : new Date(v * 1000).toLocaleDateString()) },
          ...sums.map(({ status }) => ({
            label: status[0].toUpperCase() + status.slice(1), stroke: colors[status], fill: colors[status], width: 0, paths: bars, points: { show: false },
            value: (u, v, si, i) => (i === null || i === undefined ? "—" : num(raw[status][i])),
          })),
        ],
      };
      return this.draw(opts, [x, ...sums.map((s) => s.values)]);
    });
  }
}

/** A module's runs, oldest first: duration per run (failed runs in red) and results per run. */
export class RunHistoryChart extends Chart {
  constructor() {
    super({ id: "run-history", caption: "Run history: duration and results of each run", titled: true });
  }

  set(jobs) {
    const c = palette();
    const runs = jobs.filter((j) => j.started_at).slice().reverse();
    const seconds = (j) => {
      const end = j.completed_at ? Date.parse(j.completed_at) : Date.now();
      return Math.max(0, (end - Date.parse(j.started_at)) / 1000);
    };
    const x = runs.map((_, i) => i + 1);
    const ok = runs.map((j) => (j.status === "failed" ? null : seconds(j)));
    const bad = runs.map((j) => (j.status === "failed" ? seconds(j) : null));
    const results = runs.map((j) => j.result_count ?? 0);
    const failedCount = runs.filter((j) => j.status === "failed").length;
    const longest = runs.reduce((m, j) => Math.max(m, seconds(j)), 0);
    this.summary.textContent = runs.length
      ? `The last ${plural(runs.length, "run")}: ${num(failedCount)} failed; the longest took ${secondsText(longest)}; ${plural(results.reduce((a, b) => a + b, 0), "result")} in all.`
      : "No runs yet.";
    return loadUplot().then((uPlot) => {
      const bars = uPlot.paths.bars({ size: [0.6, 24] });
      const secs = (u, v) => (v === null || v === undefined ? "—" : secondsText(v));
      const opts = {
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] }, s: { range: (u, min, max) => [0, Math.max(1, max)] }, n: { range: (u, min, max) => [0, Math.max(1, max)] } },
        axes: [
          axis(c, { label: "run", labelFont: c.font, space: 40, incrs: [1, 2, 5, 10, 20, 50, 100], filter: (u, splits) => splits.map((v) => (v >= 1 && v <= runs.length && Number.isInteger(v) ? v : null)) }),
          axis(c, { scale: "s", size: 56, values: (u, ticks) => ticks.map((t) => secondsText(t)) }),
          axis(c, { scale: "n", side: 1, grid: { show: false }, size: 56, label: "results", labelFont: c.font }),
        ],
        series: [
          { label: "Run", value: (u, v, si, i) => (i === null || i === undefined ? "—" : `#${v} ${runs[i] ? runs[i].id.slice(0, 8) : ""}`) },
          { label: "Duration", scale: "s", stroke: c.ok, fill: c.ok, width: 0, paths: bars, points: { show: false }, value: secs },
          { label: "Failed run", scale: "s", stroke: c.bad, fill: c.bad, width: 0, paths: bars, points: { show: false }, value: secs },
          { label: "Results", scale: "n", stroke: c.accent, width: 2, points: { show: true, size: 6 }, value: (u, v) => num(v) },
        ],
      };
      return this.draw(opts, [x, ok, bad, results]);
    });
  }
}

/** The busiest modules as a list of labelled bars (plain HTML: readable as text too). */
export function busiestModules(modules) {
  const top = Math.max(1, ...modules.map((m) => m.jobs));
  return h("ol", { class: "busy-list", id: "busiest-modules" },
    modules.map((m) => h("li", null,
      h("a", { class: "busy-name", href: `#/modules/${encodeURIComponent(m.module_id)}` }, m.module_id),
      h("span", { class: "busy-bar", "aria-hidden": "true" }, h("span", { style: { width: `${(100 * m.jobs) / top}%` } })),
      h("span", { class: "busy-figures" }, plural(m.jobs, "job"), m.failed ? ` · ${num(m.failed)} failed` : "", ` · ${secondsText(m.run_seconds)} running`))));
}

/** Seconds for people: tenths below 10 s (a chart of quick runs), then as durations. */
function secondsText(s) {
  if (s < 10) return `${Math.round(s * 10) / 10}s`;
  return duration(s * 1000);
}
