"""Batteries the engine lends modules: a rotating HTTP proxy and a pool of real browsers.

Kept import-light on purpose: job processes import `proxy`, `headers` and `lease` through the
SDK, so nothing here imports httpx, playwright or the daemon at module level. The daemon-side
pieces (`pool`, `chromium`, `service`) are imported only by the engine and the API.
"""
