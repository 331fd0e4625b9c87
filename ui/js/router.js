// Hash routes: #/overview, #/modules, #/modules/<id>, #/run/<module>, #/jobs, #/jobs/<id>, #/proxy.

const ROUTES = [
  { pattern: /^\/?$/, name: "overview" },
  { pattern: /^\/overview$/, name: "overview" },
  { pattern: /^\/modules$/, name: "modules" },
  { pattern: /^\/modules\/([^/]+)$/, name: "module", keys: ["id"] },
  { pattern: /^\/run\/([^/]+)$/, name: "run", keys: ["module"] },
  { pattern: /^\/jobs$/, name: "jobs" },
  { pattern: /^\/jobs\/([^/]+)$/, name: "job", keys: ["id"] },
  { pattern: /^\/proxy$/, name: "proxy" },
  { pattern: /^\/schedules$/, name: "schedules" },
  { pattern: /^\/schedules\/new\/([^/]+)$/, name: "schedule-new", keys: ["module"] },
  { pattern: /^\/schedules\/([^/]+)\/edit$/, name: "schedule-edit", keys: ["id"] },
  { pattern: /^\/schedules\/([^/]+)$/, name: "schedule", keys: ["id"] },
  { pattern: /^\/settings$/, name: "settings" },
];

/** Parse location.hash into {name, params, query}; unknown paths give name "notfound". */
export function parseHash(hash) {
  const raw = (hash || "").replace(/^#/, "");
  const [path, search = ""] = raw.split("?");
  const query = Object.fromEntries(new URLSearchParams(search));
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params = {};
    (route.keys || []).forEach((key, i) => {
      params[key] = decodeURIComponent(m[i + 1]);
    });
    return { name: route.name, params, query, path };
  }
  return { name: "notfound", params: {}, query, path };
}

export function href(path, query) {
  const qs = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v)).toString() : "";
  return `#${path}${qs ? `?${qs}` : ""}`;
}

/** The top-level section a route belongs to, for the navigation highlight. */
export function section(name) {
  return { module: "modules", run: "modules", job: "jobs", schedule: "schedules", "schedule-new": "schedules", "schedule-edit": "schedules" }[name] || name;
}
