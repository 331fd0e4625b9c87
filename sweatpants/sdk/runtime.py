"""What the SDK helpers (`proxied_request`, `get_browser`) know about the job they run in.

The runner sets it once per job process before the module starts; outside a job (a script,
a test) `current()` falls back to the `SWEATPANTS_*` environment, so the helpers work there too.
"""

from __future__ import annotations

import contextvars
import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Services:
    """Endpoints and credentials the engine lends a job. Never logged as a whole."""

    proxy_url: str = ""
    proxy_rotation_url: str = ""
    daemon_url: str = ""
    api_token: str = ""
    browser_path: str = ""
    browser_pool_size: int = 2
    browser_restart_hours: float = 6.0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> Services:
        env = os.environ
        return cls(
            proxy_url=env.get("SWEATPANTS_PROXY_URL", ""),
            proxy_rotation_url=env.get("SWEATPANTS_PROXY_ROTATION_URL", ""),
            daemon_url=env.get("SWEATPANTS_URL", ""),
            api_token=env.get("SWEATPANTS_API_AUTH_TOKEN", ""),
            browser_path=env.get("SWEATPANTS_BROWSER_PATH", ""),
        )


@dataclass(frozen=True)
class JobRuntime:
    """The job a process is running, as the SDK helpers see it."""

    job_id: str
    module_id: str
    services: Services


_current: contextvars.ContextVar[JobRuntime | None] = contextvars.ContextVar(
    "sweatpants_job_runtime", default=None
)


def current() -> JobRuntime:
    """The runtime of the job in progress, or one built from the environment."""
    runtime = _current.get()
    if runtime is None:
        return JobRuntime(job_id="", module_id="", services=Services.from_environment())
    return runtime


def activate(runtime: JobRuntime) -> contextvars.Token[JobRuntime | None]:
    """Called by the runner when a job starts in this process."""
    return _current.set(runtime)
