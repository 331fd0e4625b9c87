// The disk banner: on every page while the daemon's disk is full or below its free-space
// minimum (from /status, then the `disk` events of WS /events), gone once space returns.
import { api } from "../api.js";
import { h, ico, replace } from "../dom.js";
import { bytes } from "../format.js";

export class DiskBanner {
  constructor(events) {
    this.events = events;
    this.el = h("div", { class: "disk-banner", id: "disk-banner", role: "alert", hidden: true });
    this.eventsSeen = 0; // `disk` events so far: a /status answer older than one is dropped
  }

  start() {
    this.events.addEventListener("disk", (e) => {
      this.eventsSeen += 1;
      this.show(e.detail);
    });
    // After a reconnect the state may have changed while no events arrived.
    this.events.addEventListener("resync", () => this.load());
    // So it may between the first /status and the stream's first opening.
    const opened = (e) => {
      if (e.detail.state !== "live") return;
      this.events.removeEventListener("state", opened);
      this.load();
    };
    this.events.addEventListener("state", opened);
    this.load();
    return this;
  }

  async load() {
    const seen = this.eventsSeen;
    try {
      const status = await api.get("/status");
      // A `disk` event that came while /status was on its way may be newer than its answer
      // (a `low` answer arriving after the `full` event); the events carry every change.
      if (this.eventsSeen === seen) this.show(status && status.disk);
    } catch {
      // The connection indicator already says when the daemon cannot be reached.
    }
  }

  show(disk) {
    if (!disk || !disk.low) {
      this.el.hidden = true;
      replace(this.el);
      return;
    }
    const title = disk.full ? "Disk full" : "Low disk space";
    const where = `${bytes(disk.free_bytes || 0)} free in ${disk.path}`;
    const why = disk.full
      ? "Job output could not be stored there, so the jobs writing it were stopped (what they stored stays readable)."
      : `That is below the ${bytes(disk.min_free_bytes || 0)} minimum (SWEATPANTS_MIN_FREE_MB).`;
    const text = `${why} New jobs are refused and queued jobs wait until space returns: free some space there, no restart needed.`;
    replace(this.el,
      ico("alert"),
      h("div", { class: "notice-body" },
        h("div", { class: "notice-title" }, `${title}: ${where}`),
        h("span", null, text)));
    this.el.hidden = false;
  }
}
