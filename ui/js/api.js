// The REST + WebSocket client: every call the dashboard makes goes through here.
import { getToken } from "./auth.js";

/** The daemon's root URL: where index.html is served (`/`), even if opened as /ui/index.html. */
export const BASE = (() => {
  const url = new URL(".", window.location.href);
  url.pathname = url.pathname.replace(/\/ui\/$/, "/");
  url.search = "";
  url.hash = "";
  return url;
})();

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && (body.detail || body.message)) || `Request failed (${status})`;
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.code = body && body.error ? body.error : null;
    this.field = body && body.field ? body.field : null;
    this.body = body;
  }
}

const unauthorizedListeners = new Set();

export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export function apiUrl(path, params) {
  const url = new URL(path.replace(/^\//, ""), BASE);
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, String(v));
    }
  }
  return url;
}

export function wsUrl(path, params = {}) {
  const url = apiUrl(path, params);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const token = getToken();
  if (token) url.searchParams.set("token", token);
  return url.toString();
}

export function authHeaders() {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function request(method, path, { body, params, signal } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  const init = { method, headers, signal, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, params), init);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, { detail: "The Sweatpants daemon is not reachable.", error: "offline" });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text };
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) for (const fn of unauthorizedListeners) fn(error);
    throw error;
  }
  return data;
}

export const api = {
  get: (path, params, signal) => request("GET", path, { params, signal }),
  post: (path, body = {}, signal) => request("POST", path, { body, signal }),
  del: (path, signal) => request("DELETE", path, { signal }),
};

export function isAbort(err) {
  return err && err.name === "AbortError";
}

/**
 * Download a file from the API. Without a token a plain link streams it; with one, the file
 * is fetched with the bearer header and handed to the browser as a blob.
 */
export async function download(path, params, filename) {
  const response = await fetch(apiUrl(path, params), { headers: authHeaders(), cache: "no-store" });
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    throw new ApiError(response.status, body);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
