// The API token: taken once from the page URL (#token=... or ?token=..., as the desktop app
// opens it), kept in sessionStorage, sent as a bearer header (REST) or ?token= (WebSocket).

const KEY = "sweatpants.token";
let memoryToken = ""; // used when sessionStorage is unavailable

export function captureTokenFromUrl() {
  const url = new URL(window.location.href);
  let token = url.searchParams.get("token");
  let hash = url.hash;
  const match = /(?:^#|[?&])token=([^&]*)/.exec(hash);
  if (!token && match) token = decodeURIComponent(match[1]);
  if (!token) return false;
  setToken(token);
  url.searchParams.delete("token");
  // Keep the route if the hash carried one besides the token, else go to the overview.
  const route = /#(\/[^?&]*)/.exec(hash);
  hash = route ? `#${route[1]}` : "#/overview";
  history.replaceState(null, "", `${url.pathname}${url.search}${hash}`);
  return true;
}

export function getToken() {
  try {
    return sessionStorage.getItem(KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

export function setToken(token) {
  memoryToken = token || "";
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage disabled: the token lives only as long as the page */
  }
}
