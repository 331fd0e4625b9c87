// An install that shows its log as it goes: POST ...?stream=true answers NDJSON lines
// (`start`, one `log` per line the resolver/installer prints, then `done` or `error`).
import { ApiError, apiUrl, authHeaders } from "./api.js";

/**
 * POST `path` with `body` and `?stream=true`; calls `onLine(text)` for each log line and
 * resolves to the installed module (`done`), or throws an ApiError like `api.post` would.
 */
export async function streamInstall(path, body, onLine) {
  let response;
  try {
    response = await fetch(apiUrl(path, { stream: "true" }), {
      method: "POST",
      headers: { Accept: "application/x-ndjson", "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { detail: "The Sweatpants daemon is not reachable.", error: "offline" });
  }
  if (!response.ok || !response.body) {
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
    throw new ApiError(response.status, data);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  let last = null;
  const take = (line) => {
    if (!line.trim()) return;
    const item = JSON.parse(line);
    if (item.type === "log") onLine(String(item.line));
    else if (item.type === "done" || item.type === "error") last = item;
  };
  for (let reads = 0; reads < 1_000_000; reads++) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop();
    lines.forEach(take);
  }
  take(pending + decoder.decode());
  if (!last) throw new ApiError(0, { detail: "The install log ended without saying whether it worked." });
  if (last.type === "error") throw new ApiError(last.status || 500, last);
  return last.module;
}
