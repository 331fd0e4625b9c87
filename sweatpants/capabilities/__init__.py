"""Batteries the engine lends modules, daemon side: the browser pool (`pool`, `chromium`),
`/proxy-fetch` (`fetch`) and the `Capabilities` the engine holds (`service`).

Job processes never import this package: what they share with it (proxy choice, headers,
the HTTP client, finding Chromium) lives in `sweatpants.web`, and their side of a browser
lease in `sweatpants.sdk.lease`.
"""
