"""Reaching the web the way Sweatpants does, for job processes and the daemon alike.

Which proxy a request goes through (`proxy`), browser-like headers (`headers`), the HTTP
client both `proxied_request` and `/proxy-fetch` use (`http`), which Chromium to launch and
its flags (`binary`), and hiding credentials in URLs (`urls`). Job processes import this
through the SDK, so it imports nothing of the daemon (no `capabilities`, `api`, `store`,
`config`) and nothing heavy at module level (httpx and Playwright inside functions).
"""
