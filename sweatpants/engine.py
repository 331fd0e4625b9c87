"""The engine: the store, the module registry, the scheduler and the event bus, wired once.

`create_app` builds one Engine per daemon and starts/stops it in the app's lifespan. Nothing
here is global: tests build as many engines as they like, each on its own data directory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sweatpants.capabilities.service import Capabilities
from sweatpants.config import Settings
from sweatpants.events import CommitSignal, EventBus
from sweatpants.inbox import CallbackInbox
from sweatpants.jobs.executor import Executor
from sweatpants.jobs.executors import Executors
from sweatpants.jobs.local import LocalExecutor
from sweatpants.jobs.manager import JobManager
from sweatpants.jobs.models import Job
from sweatpants.jobs.rerun import rerun
from sweatpants.jobs.retention import Retention
from sweatpants.metrics import Metrics
from sweatpants.modules.example import ensure_example_installed
from sweatpants.modules.registry import ModuleRegistry
from sweatpants.modules.stored_settings import StoredSettings
from sweatpants.schedules.loop import ScheduleLoop
from sweatpants.schedules.service import Schedules
from sweatpants.secrets import SecretBox
from sweatpants.store import Store
from sweatpants.store.space import MB
from sweatpants.store.space import is_disk_full as is_disk_full  # for the API's error handler
from sweatpants.webhooks.service import Webhooks


def job_services(settings: Settings) -> dict[str, Any]:
    """What a job process is lent by the engine (see `sweatpants.sdk.runtime.Services`)."""
    return {
        "proxy_url": settings.proxy_url,
        "proxy_rotation_url": settings.proxy_rotation_url,
        "daemon_url": settings.base_url,
        "api_token": settings.api_auth_token,
        "browser_path": settings.browser_path,
        "browser_pool_size": settings.browser_pool_size,
        "browser_restart_hours": settings.browser_restart_hours,
    }


def make_ray_executor(settings: Settings) -> Executor:
    from sweatpants.jobs.ray.executor import RayExecutor  # Ray itself runs in a bridge process

    return RayExecutor(settings)


def make_local_executor(settings: Settings) -> Executor:
    """This machine's executor on the job transport of SWEATPANTS_JOB_TRANSPORT."""
    if settings.job_transport == "pipes":
        from sweatpants.jobs.pipes import PipesExecutor

        return PipesExecutor()
    return LocalExecutor(env_idle_seconds=settings.env_starter_idle_seconds)


def make_executors(settings: Settings) -> Executors:
    """`local` and `ray` by name, the default from SWEATPANTS_EXECUTOR (see docs/scale-out.md)."""
    return Executors(
        {
            "local": lambda: make_local_executor(settings),
            "ray": lambda: make_ray_executor(settings),
        },
        default=settings.executor,
    )


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        settings.modules_path.mkdir(parents=True, exist_ok=True)
        self.commits = CommitSignal()
        self.store = Store(
            settings.database_path,
            on_commit=self.commits.committed,
            min_free_bytes=int(settings.min_free_mb * MB),
        )
        # GET /metrics: this engine's own registry (sweatpants/metrics.py), fed by the writer
        # (each transaction) and the scheduler (each frame of output, starts and ends).
        self.metrics = Metrics()
        self.store.writer.observe = self.metrics.batch_committed
        self.modules = ModuleRegistry(settings)
        self.events = EventBus()
        self.executors = make_executors(settings)
        # Seals secret values before they are stored (key: secret.key in the data dir).
        self.secrets = SecretBox.open(settings.data_dir)
        # Settings stored once per module (GET/PUT /modules/{id}/settings), under each job's.
        self.module_settings = StoredSettings(self.store, self.modules, self.secrets)
        self.jobs = JobManager(
            settings,
            self.store,
            self.modules,
            self.events,
            self.executors,
            job_services(settings),
            secrets=self.secrets,
            stored_settings=self.module_settings,
            metrics=self.metrics,
        )
        # The callbacks inbox (/callbacks) and the jobs waiting on it.
        self.callbacks = CallbackInbox(self.store)
        self.started_at = time.time()
        # Extra sections of /status (e.g. "proxy", "browser"), each a cheap callable.
        self.status_providers: dict[str, Callable[[], Any]] = {}
        # Proxy and browser pool (browsers start lazily, on the first lease).
        self.capabilities = Capabilities(settings)
        self.status_providers["proxy"] = self.capabilities.proxy_status
        self.status_providers["browser"] = self.capabilities.browser_status
        # Deleting jobs (DELETE /jobs/{id}, POST /jobs/prune, SWEATPANTS_KEEP_JOBS_DAYS); the
        # policy also empties the callbacks inbox of what is older than the kept period.
        self.retention = Retention(settings, self.store, self.jobs, self.events)
        self.retention.cleanups.append(self.callbacks.delete_older_than)
        self.status_providers["database"] = self.retention.status
        # Webhooks and the durable delivery queue (modules' send_callback goes through it too).
        self.webhooks = Webhooks(settings, self.store, self.events, self.secrets)
        if settings.executor == "ray" or settings.ray_address:
            self.status_providers["ray"] = self.ray_status
        # Schedules (cron / every) and the loop that fires them (sweatpants/schedules/).
        self.schedules = Schedules(
            self.store, self.modules, self.jobs, self.events, self.secrets, self.module_settings
        )
        self.schedule_loop = ScheduleLoop(self.schedules)
        self.status_providers["schedules"] = self.schedule_loop.status

    def ray_status(self) -> dict[str, Any]:
        """The Ray cluster as the executor last saw it: nodes, CPUs, free CPUs."""
        executor = self.executors.built("ray")
        status = getattr(executor, "status", None)
        if status is None:
            return {"address": self.settings.ray_address or "auto", "connected": False}
        result: dict[str, Any] = status()
        return result

    async def rerun(
        self,
        job_id: str,
        overrides: dict[str, Any] | None = None,
        created_by: int | None = None,
    ) -> Job:
        """A new job copied from `job_id` inside the daemon, secrets included (see rerun.py);
        `created_by` is who asked (the `sub` of a signed token), not who made the original."""
        return await rerun(self.jobs, self.modules, self.secrets, job_id, overrides, created_by)

    async def start(self) -> None:
        self.started_at = time.time()
        self.commits.bind(asyncio.get_running_loop())
        self.store.open()
        await asyncio.to_thread(ensure_example_installed, self.modules)
        await self.webhooks.start()  # listening before the first job event
        await self.jobs.start()
        await self.retention.start()
        await self.schedule_loop.start()  # after the jobs: it asks which runs still go

    async def stop(self) -> None:
        await self.schedule_loop.stop()
        await self.retention.stop()
        await self.jobs.shutdown()
        await self.webhooks.stop()
        await self.capabilities.stop()
        self.events.close()
        self.store.close()
