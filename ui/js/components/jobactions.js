// Actions on jobs shared by several views.
import { api } from "../api.js";
import { shortId } from "../format.js";
import { toast, toastError } from "./toast.js";
import { confirmDialog } from "./dialog.js";

/** Ask the daemon to stop a job; the new state arrives over /events. */
export async function stopJob(id, button = null) {
  if (button) button.disabled = true;
  try {
    const res = await api.post(`/jobs/${encodeURIComponent(id)}/stop`);
    toast(`Stopping job ${shortId(id)}…${res && res.status && res.status !== "stopping" ? ` (${res.status})` : ""}`);
    return res;
  } catch (err) {
    if (button) button.disabled = false;
    if (err.status === 409) toast(`Job ${shortId(id)} has already ended.`);
    else toastError(err);
    return null;
  }
}

/**
 * Delete finished jobs with their logs, results and checkpoint (DELETE /jobs/{id}), after a
 * confirmation. Returns the ids that were deleted (none if the person said no). A job that is
 * still pending or running is refused by the daemon (409: stop it first) and said so.
 */
export async function deleteJobs(ids) {
  if (!ids.length) return [];
  const one = ids.length === 1;
  const ok = await confirmDialog({
    title: one ? `Delete job ${shortId(ids[0])}?` : `Delete ${ids.length} jobs?`,
    body: `${one ? "Its" : "Their"} logs, results and checkpoint are deleted too. This cannot be undone.`,
    confirmLabel: one ? "Delete job" : `Delete ${ids.length} jobs`,
    danger: true,
  });
  if (!ok) return [];
  const deleted = [];
  const refused = [];
  for (const id of ids) { // one at a time: each answers once its rows are gone
    try {
      await api.del(`/jobs/${encodeURIComponent(id)}`);
      deleted.push(id);
    } catch (err) {
      if (err.status === 409) refused.push(id);
      else if (err.status !== 404) toastError(err);
    }
  }
  if (deleted.length) toast(one ? `Deleted job ${shortId(ids[0])}` : `Deleted ${deleted.length} jobs`);
  if (refused.length) toast(`${refused.length === 1 ? `Job ${shortId(refused[0])} is` : `${refused.length} jobs are`} still active: stop first, then delete.`, { kind: "bad" });
  return deleted;
}

/**
 * Run a job again: the daemon copies its inputs and settings, secrets included, into a new
 * job (POST /jobs/{id}/rerun), so they never pass through the page. Returns the new job's id.
 */
export async function rerunJob(id, button = null) {
  if (button) button.disabled = true;
  try {
    const started = await api.post(`/jobs/${encodeURIComponent(id)}/rerun`);
    toast(`Started job ${shortId(started.id)} with the same inputs and settings`);
    return started.id;
  } catch (err) {
    toastError(err);
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}
