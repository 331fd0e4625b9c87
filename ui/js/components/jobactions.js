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
