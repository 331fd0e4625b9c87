// Boot: token capture, live events, routing between views.
import { captureTokenFromUrl, setToken } from "./auth.js";
import { onUnauthorized } from "./api.js";
import { h, clear, notice } from "./dom.js";
import { fillIcons } from "./icons.js";
import { LiveEvents } from "./events.js";
import { parseHash, section } from "./router.js";
import { Scope } from "./scope.js";
import { tokenDialog } from "./components/dialog.js";
import { DiskBanner } from "./components/diskbanner.js";

import overview from "./views/overview.js";
import modules from "./views/modules.js";
import moduleDetail from "./views/module-detail.js";
import run from "./views/run.js";
import jobs from "./views/jobs.js";
import jobDetail from "./views/job-detail.js";
import proxy from "./views/proxy.js";
import settings from "./views/settings.js";
import schedules, { scheduleDetail } from "./views/schedules.js";
import scheduleForm from "./views/schedule-form.js";

const VIEWS = { overview, modules, module: moduleDetail, run, jobs, job: jobDetail, proxy, settings,
  schedules, schedule: scheduleDetail, "schedule-new": scheduleForm, "schedule-edit": scheduleForm };

class App {
  constructor() {
    this.main = document.getElementById("main");
    this.events = new LiveEvents();
    this.diskBanner = new DiskBanner(this.events);
    this.scope = null;
    this.renders = 0;
  }

  start() {
    captureTokenFromUrl();
    fillIcons(document);
    this.bindConnection();
    onUnauthorized(() => this.askToken());
    window.addEventListener("hashchange", () => this.route());
    this.events.start();
    this.diskBanner.start();
    this.route();
  }

  bindConnection() {
    const conn = document.getElementById("conn");
    const text = conn.querySelector(".conn-text");
    this.events.addEventListener("state", (e) => {
      const { state } = e.detail;
      conn.dataset.state = state;
      text.textContent = state === "live" ? "Live" : state === "down" ? "Disconnected" : "Connecting…";
      conn.title = state === "live" ? "Receiving live updates from the daemon" : "Trying to reach the daemon";
    });
  }

  async askToken() {
    const token = await tokenDialog();
    if (!token) return;
    setToken(token);
    this.events.restart();
    this.diskBanner.load();
    this.route();
  }

  navigate(hash) {
    if (window.location.hash === hash) this.route();
    else window.location.hash = hash;
  }

  route() {
    const route = parseHash(window.location.hash);
    if (route.name === "overview" && !window.location.hash.startsWith("#/")) {
      history.replaceState(null, "", "#/overview");
    }
    if (this.scope) this.scope.dispose();
    const scope = new Scope();
    this.scope = scope;
    const current = section(route.name);
    for (const link of document.querySelectorAll(".nav-link")) {
      if (link.dataset.route === current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    clear(this.main);
    const root = h("div", { class: "page" });
    this.main.append(this.diskBanner.el, root);
    if (this.renders++ > 0) this.main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
    const view = VIEWS[route.name];
    if (!view) {
      root.appendChild(notice("warn", "Page not found", h("span", null, "There is nothing at this address. ", h("a", { href: "#/overview" }, "Go to the overview"), ".")));
      document.title = "Not found · Sweatpants";
      return;
    }
    const ctx = {
      root,
      scope,
      params: route.params,
      query: route.query,
      events: this.events,
      navigate: (hash) => this.navigate(hash),
      setTitle: (title) => { document.title = title ? `${title} · Sweatpants` : "Sweatpants"; },
    };
    Promise.resolve()
      .then(() => view(ctx))
      .catch((err) => {
        if (scope.disposed || (err && err.name === "AbortError")) return;
        clear(root);
        root.appendChild(errorPanel(err, () => this.route()));
      });
  }
}

function errorPanel(err, retry) {
  const status = err && err.status;
  const title = status === 0 ? "Cannot reach the daemon" : status === 404 ? "Not found" : status === 401 ? "Token required" : "Something went wrong";
  return notice("bad", title, h("div", { class: "stack" },
    h("span", null, err && err.message ? err.message : String(err)),
    h("div", null, h("button", { class: "btn btn-sm", type: "button", onclick: retry }, "Try again"))));
}

new App().start();
