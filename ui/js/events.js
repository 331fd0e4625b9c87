// The live event stream (WS /events): job state changes, progress and the disk state, fanned
// out to views.
import { wsUrl } from "./api.js";
import { ReconnectingSocket } from "./socket.js";

export class LiveEvents extends EventTarget {
  constructor() {
    super();
    this.state = "connecting";
    this.socket = new ReconnectingSocket(() => wsUrl("/events"), {
      onMessage: (msg) => this.dispatch(msg),
      onState: (state) => this.setState(state),
    });
  }

  start() {
    this.socket.start();
    return this;
  }

  restart() {
    this.socket.restart();
  }

  setState(state) {
    if (state === "open" || state === "reopened") this.state = "live";
    else if (state === "down" || state === "closed") this.state = "down";
    // "connecting" keeps the current state, so the indicator does not flicker on retries.
    this.dispatchEvent(new CustomEvent("state", { detail: { state: this.state } }));
    // After a reconnect the views refetch what they show: events may have been missed.
    if (state === "reopened") this.dispatchEvent(new CustomEvent("resync"));
  }

  dispatch(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "job" && msg.job) this.dispatchEvent(new CustomEvent("job", { detail: msg.job }));
    else if (msg.type === "progress") this.dispatchEvent(new CustomEvent("progress", { detail: msg }));
    else if (msg.type === "disk" && msg.disk) this.dispatchEvent(new CustomEvent("disk", { detail: msg.disk }));
    else if (msg.type === "jobs_deleted" && Array.isArray(msg.ids)) this.dispatchEvent(new CustomEvent("jobs_deleted", { detail: msg.ids }));
    else if (msg.type === "schedule" || msg.type === "schedule_planned" || msg.type === "schedule_deleted") {
      this.dispatchEvent(new CustomEvent("schedule", { detail: msg.schedule || { id: msg.id } }));
    }
  }
}
