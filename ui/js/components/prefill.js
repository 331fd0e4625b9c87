// "Run again": a job's inputs handed to the run form of its module, once.
const KEY = "sweatpants.prefill";

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
