// Actions on jobs shared by several views.
import { api } from "../api.js";
import { shortId } from "../format.js";
import { toast, toastError } from "./toast.js";

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
