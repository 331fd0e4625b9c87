// Formatting of times, durations and numbers for display.

const numberFmt = new Intl.NumberFormat();

export function num(n) {
  return n === null || n === undefined ? "—" : numberFmt.format(n);
}

export function plural(n, word, many = `${word}s`) {
  return `${num(n)} ${n === 1 ? word : many}`;
}

export function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const hh = Math.floor(m / 60);
  if (hh < 24) return `${hh}h ${String(m % 60).padStart(2, "0")}m`;
  const d = Math.floor(hh / 24);
  return `${d}d ${hh % 24}h`;
}

/** Duration of a job: started → completed, or started → now while it runs. */
export function jobDurationMs(job, now = Date.now()) {
  const start = parseTime(job.started_at);
  if (start === null) return null;
  const end = parseTime(job.completed_at);
  return (end ?? now) - start;
}

export function isActive(status) {
  return status === "pending" || status === "running" || status === "stopping";
}

export function timeShort(iso) {
  const t = parseTime(iso);
  if (t === null) return "—";
  const d = new Date(t);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (sameDay) return time;
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${time}`;
}

export function timeFull(iso) {
  const t = parseTime(iso);
  return t === null ? "—" : new Date(t).toLocaleString();
}

export function ago(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (t === null) return "—";
  const s = Math.round((now - t) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const hh = Math.round(m / 60);
  if (hh < 48) return `${hh} h ago`;
  return `${Math.round(hh / 24)} days ago`;
}

export function logTime(iso) {
  // "10:30:05.123" from "2024-01-15T10:30:05.123Z", shown in local time.
  const t = parseTime(iso);
  if (t === null) return iso || "";
  const d = new Date(t);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function shortId(id) {
  return id ? String(id).slice(0, 8) : "";
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`;
}

export function progressInfo(progress) {
  if (!progress || progress.done === null || progress.done === undefined) return null;
  const done = Number(progress.done);
  const total = progress.total === null || progress.total === undefined ? null : Number(progress.total);
  const pct = total && total > 0 ? Math.max(0, Math.min(100, (done / total) * 100)) : null;
  return { done, total, pct };
}
