// "Edit and run": a job's inputs handed to the run form of its module, once.
const KEY = "sweatpants.prefill";
const MASK = "********";

/** A job's values for the run form: secrets (shown masked) are left out, to be typed again
 * (a stored module setting fills a secret setting left empty). */
export function prefillFromJob(job) {
  const shown = (values) => Object.fromEntries(Object.entries(values || {}).filter(([, v]) => v !== MASK));
  return { inputs: shown(job.inputs), settings: shown(job.settings), max_duration: job.max_duration || "" };
}

export function setPrefill(moduleId, values) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ moduleId, values }));
  } catch {
    /* without storage the form simply starts from the defaults */
  }
}

export function takePrefill(moduleId) {
  try {
    const raw = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    if (!raw) return null;
    const data = JSON.parse(raw);
    return data.moduleId === moduleId ? data.values : null;
  } catch {
    return null;
  }
}
