// A virtualised log viewer: fixed-height rows, only the visible ones in the DOM, new lines
// batched per animation frame. Follows the tail until the user scrolls up; filter by level
// and text. Copes with hundreds of thousands of lines.
import { h, ico } from "../dom.js";
import { logTime, num } from "../format.js";

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, WARN: 30, ERROR: 40, CRITICAL: 50 };
const OVERSCAN = 12;
const MAX_ROWS = 1_000_000;
const TRIM = 100_000;

export class LogView {
  constructor({ label = "Job log" } = {}) {
    // One entry per display row; a multi-line message spans several rows.
    this.ts = [];
    this.lvl = [];
    this.txt = [];
    this.first = []; // true on the first row of an entry
    this.entries = 0;
    this.dropped = 0;
    this.visible = null; // null: every row; else an array of row indexes passing the filter
    this.minLevel = 0;
    this.text = "";
    this.queue = [];
    this.frame = 0;
    this.follow = true;
    this.rowHeight = 22;
    this.pool = [];
    this.lastRange = "";
    this.fit = false; // shrink the box to its lines (finished jobs); else a steady height

    this.stats = h("span", { class: "log-stats", "aria-live": "off" });
    this.live = h("span", { class: "log-live" }, "Connecting");
    this.levelSelect = h("select", { class: "select", id: "log-level", style: { width: "auto", minHeight: "30px", height: "30px", padding: "2px 8px", fontSize: "13px" } },
      h("option", { value: "0" }, "All levels"),
      h("option", { value: "20" }, "Info and above"),
      h("option", { value: "30" }, "Warnings and errors"),
      h("option", { value: "40" }, "Errors only"));
    this.search = h("input", { class: "input", id: "log-filter", type: "search", placeholder: "Filter lines", autocomplete: "off", spellcheck: "false" });
    this.rows = h("div", { class: "log-rows" });
    this.sizer = h("div", { class: "log-sizer" }, this.rows);
    this.emptyMsg = h("div", { class: "log-empty" }, "Waiting for log lines…");
    this.scroller = h("div", { class: "log-scroll", tabindex: "0", role: "log", "aria-label": label, "aria-live": "off" }, this.sizer, this.emptyMsg);
    this.jump = h("button", { class: "btn btn-sm btn-primary jump", type: "button", hidden: true, onclick: () => this.jumpToLatest() }, ico("arrowDown"), "Jump to latest");
    this.el = h("div", { class: "logview" },
      h("div", { class: "log-toolbar" },
        h("label", { class: "sr-only", for: "log-level" }, "Level"), this.levelSelect,
        h("label", { class: "sr-only", for: "log-filter" }, "Filter lines"), this.search,
        h("span", { class: "spacer" }), this.stats, this.live),
      h("div", { class: "log-frame" }, this.scroller, this.jump));

    this.onScroll = () => this.handleScroll();
    this.scroller.addEventListener("scroll", this.onScroll, { passive: true });
    this.levelSelect.addEventListener("change", () => {
      this.minLevel = Number(this.levelSelect.value);
      this.refilter();
    });
    let searchTimer = 0;
    this.search.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => {
        this.text = this.search.value.trim().toLowerCase();
        this.refilter();
      }, 150);
    });
    this.resizeObserver = new ResizeObserver(() => this.render(true));
    this.resizeObserver.observe(this.scroller);
    this.updateStats();
  }

  /** Queue log entries ({id, timestamp, level, message}); drawn on the next frame. */
  push(entry) {
    this.queue.push(entry);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  pushMany(entries) {
    if (!entries.length) return;
    for (const e of entries) this.queue.push(e);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  setLive(state, text) {
    this.live.dataset.state = state;
    this.live.textContent = text;
  }

  flush() {
    this.frame = 0;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    const start = this.ts.length;
    for (const e of batch) {
      const level = String(e.level || "INFO").toUpperCase();
      const time = e.timestamp || "";
      const lines = String(e.message ?? "").split("\n");
      this.entries += 1;
      for (let i = 0; i < lines.length; i++) {
        this.ts.push(i === 0 ? time : "");
        this.lvl.push(level);
        this.txt.push(lines[i]);
        this.first.push(i === 0);
      }
    }
    if (this.visible) {
      for (let i = start; i < this.ts.length; i++) if (this.passes(i)) this.visible.push(i);
    }
    if (this.ts.length > MAX_ROWS) this.trim();
    this.emptyMsg.hidden = this.count() > 0;
    this.updateSize();
    if (this.follow) this.scrollToEnd();
    this.render(true);
    this.updateStats();
  }

  trim() {
    const n = TRIM;
    this.ts.splice(0, n);
    this.lvl.splice(0, n);
    this.txt.splice(0, n);
    this.first.splice(0, n);
    this.dropped += n;
    if (this.visible) this.refilter(false);
  }

  passes(i) {
    if (this.minLevel && (LEVELS[this.lvl[i]] ?? 20) < this.minLevel) return false;
    if (this.text && !this.txt[i].toLowerCase().includes(this.text)) return false;
    return true;
  }

  refilter(draw = true) {
    if (!this.minLevel && !this.text) {
      this.visible = null;
    } else {
      const out = [];
      for (let i = 0; i < this.ts.length; i++) if (this.passes(i)) out.push(i);
      this.visible = out;
    }
    if (!draw) return;
    this.emptyMsg.textContent = this.visible && this.ts.length ? "No lines match the filter." : "Waiting for log lines…";
    this.emptyMsg.hidden = this.count() > 0;
    this.updateSize();
    if (this.follow) this.scrollToEnd();
    this.render(true);
    this.updateStats();
  }

  count() {
    return this.visible ? this.visible.length : this.ts.length;
  }

  updateSize() {
    const height = this.count() * this.rowHeight;
    this.sizer.style.height = `${height}px`;
    // max-height in the stylesheet caps it; min-height keeps room for the empty message.
    this.scroller.style.height = this.fit ? `${height + 12}px` : "";
  }

  setFit(fit) {
    if (fit === this.fit) return;
    this.fit = fit;
    this.updateSize();
    this.render(true);
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  jumpToLatest() {
    this.follow = true;
    this.jump.hidden = true;
    this.scrollToEnd();
    this.render(true);
    this.scroller.focus({ preventScroll: true });
  }

  handleScroll() {
    const s = this.scroller;
    const atEnd = s.scrollTop + s.clientHeight >= s.scrollHeight - this.rowHeight * 1.5;
    this.follow = atEnd;
    this.jump.hidden = atEnd || this.count() === 0;
    this.render(false);
  }

  render(force) {
    const total = this.count();
    const height = this.scroller.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / this.rowHeight) - OVERSCAN);
    const last = Math.min(total, Math.ceil((this.scroller.scrollTop + height) / this.rowHeight) + OVERSCAN);
    const key = `${first}:${last}:${total}`;
    if (!force && key === this.lastRange) return;
    this.lastRange = key;
    const need = last - first;
    while (this.pool.length < need) {
      const row = h("div", { class: "log-row" }, h("span", { class: "ts" }), h("span", { class: "lvl" }), h("span", { class: "msg" }));
      this.pool.push(row);
      this.rows.appendChild(row);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k];
      if (k >= need) {
        if (!row.hidden) row.hidden = true;
        continue;
      }
      row.hidden = false;
      const idx = this.visible ? this.visible[first + k] : first + k;
      const [ts, lvl, msg] = row.children;
      const firstLine = this.first[idx];
      ts.textContent = firstLine ? logTime(this.ts[idx]) : "            ";
      lvl.textContent = firstLine ? this.lvl[idx] : "";
      msg.textContent = this.txt[idx];
      row.dataset.level = this.lvl[idx];
    }
    this.rows.style.transform = `translateY(${first * this.rowHeight}px)`;
  }

  updateStats() {
    const shown = this.count();
    const all = this.ts.length;
    const entries = `${num(this.entries)} ${this.entries === 1 ? "entry" : "entries"}`;
    this.stats.textContent = this.visible ? `${num(shown)} of ${num(all)} lines` : entries;
    if (this.dropped) this.stats.textContent += ` (oldest ${num(this.dropped)} lines dropped)`;
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
    this.scroller.removeEventListener("scroll", this.onScroll);
  }
}
