// A job's results: a table (or raw JSON) over cursor pages, with export links.
import { api, apiUrl, download } from "../api.js";
import { getToken } from "../auth.js";
import { h, ico, empty } from "../dom.js";
import { num, shortId } from "../format.js";
import { toastError } from "./toast.js";

const PAGE = 50;
const MAX_COLUMNS = 12;

export class ResultsView {
  constructor(jobId, { signal }) {
    this.jobId = jobId;
    this.signal = signal;
    this.cursors = [null]; // cursor that opened each page seen so far
    this.page = 0;
    this.next = null;
    this.total = 0;
    this.items = [];
    this.mode = "table";
    this.loading = false;

    this.tableBtn = h("button", { type: "button", "aria-pressed": "true", onclick: () => this.setMode("table") }, ico("table"), "Table");
    this.jsonBtn = h("button", { type: "button", "aria-pressed": "false", onclick: () => this.setMode("json") }, ico("code"), "JSON");
    this.body = h("div", { class: "results-body" });
    this.prevBtn = h("button", { class: "btn btn-sm", type: "button", onclick: () => this.go(this.page - 1) }, ico("arrowLeft"), "Previous");
    this.nextBtn = h("button", { class: "btn btn-sm", type: "button", onclick: () => this.go(this.page + 1) }, "Next", ico("arrowRight"));
    this.range = h("span", { class: "muted" });
    this.exportLinks = h("div", { class: "page-actions" },
      this.exportLink("csv", "CSV"), this.exportLink("ndjson", "NDJSON"));
    this.el = h("div", { class: "results" },
      h("div", { class: "log-toolbar" },
        h("div", { class: "segmented", role: "group", "aria-label": "Results view" }, this.tableBtn, this.jsonBtn),
        h("span", { class: "spacer" }),
        h("span", { class: "muted", style: { fontSize: "13px" } }, "Export"), this.exportLinks),
      this.body,
      h("div", { class: "pager" }, this.range, h("div", { class: "page-actions" }, this.prevBtn, this.nextBtn)));
  }

  exportLink(format, label) {
    const path = `/jobs/${encodeURIComponent(this.jobId)}/results/export`;
    const filename = `${shortId(this.jobId)}-results.${format === "csv" ? "csv" : "ndjson"}`;
    const a = h("a", { class: "btn btn-sm", href: apiUrl(path, { format }).toString(), download: filename, dataset: { export: format } }, ico("download"), label);
    a.addEventListener("click", (e) => {
      // A plain link cannot carry the bearer token: fetch it ourselves when one is set.
      if (!getToken()) return;
      e.preventDefault();
      download(path, { format }, filename).catch(toastError);
    });
    return a;
  }

  setMode(mode) {
    this.mode = mode;
    this.tableBtn.setAttribute("aria-pressed", String(mode === "table"));
    this.jsonBtn.setAttribute("aria-pressed", String(mode === "json"));
    this.draw();
  }

  async go(page) {
    if (page < 0 || page >= this.cursors.length + (this.next ? 1 : 0)) return;
    if (page === this.cursors.length) this.cursors.push(this.next);
    this.page = page;
    await this.load();
  }

  async load() {
    if (this.loading) return;
    this.loading = true;
    try {
      const data = await api.get(`/jobs/${encodeURIComponent(this.jobId)}/results`, { limit: PAGE, after: this.cursors[this.page] }, this.signal);
      this.items = data.results || [];
      this.total = data.total ?? this.items.length;
      this.next = data.next_cursor ?? null;
      this.draw();
    } finally {
      this.loading = false;
    }
  }

  /** New results may have arrived: reload when the last page is showing, else update the count. */
  maybeRefresh(resultCount) {
    if (resultCount === this.total) return;
    if (!this.next) this.load().catch(() => {});
    else {
      this.total = resultCount;
      this.drawPager();
    }
  }

  draw() {
    const items = this.items;
    if (!items.length) {
      this.body.replaceChildren(empty("No results yet", "Results appear here as the module yields them.", "table"));
    } else if (this.mode === "json") {
      this.body.replaceChildren(h("pre", { class: "code-block", style: { margin: "12px", maxHeight: "520px" }, tabindex: "0", "aria-label": "Results as JSON" },
        JSON.stringify(items.map((r) => r.data), null, 2)));
    } else {
      this.body.replaceChildren(this.table(items));
    }
    this.drawPager();
  }

  drawPager() {
    const start = this.page * PAGE;
    this.range.textContent = this.items.length
      ? `${num(start + 1)}–${num(start + this.items.length)} of ${num(this.total)}`
      : `${num(this.total)} results`;
    this.prevBtn.disabled = this.page === 0;
    this.nextBtn.disabled = !this.next;
  }

  table(items) {
    const cols = [];
    const seen = new Set();
    let scalar = false;
    for (const r of items) {
      if (r.data && typeof r.data === "object" && !Array.isArray(r.data)) {
        for (const k of Object.keys(r.data)) {
          if (!seen.has(k) && cols.length < MAX_COLUMNS) {
            seen.add(k);
            cols.push(k);
          }
        }
      } else scalar = true;
    }
    if (scalar) cols.push("value");
    return h("div", { class: "table-wrap" }, h("table", { class: "table data-table", id: "results-table" },
      h("thead", null, h("tr", null, h("th", { class: "seq" }, "#"), cols.map((c) => h("th", null, c)))),
      h("tbody", null, items.map((r) => h("tr", null,
        h("td", { class: "seq" }, String(r.seq ?? "")),
        cols.map((c) => {
          const isObj = r.data && typeof r.data === "object" && !Array.isArray(r.data);
          const v = isObj ? r.data[c] : c === "value" ? r.data : undefined;
          const text = cell(v);
          return h("td", { title: text.length > 40 ? text : null }, v === undefined ? h("span", { class: "muted" }, "") : text);
        }))))));
  }
}

function cell(v) {
  if (v === undefined) return "";
  if (v === null) return "null";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}
