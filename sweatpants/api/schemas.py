"""The API's answers as pydantic models: what /openapi.json, /docs and /redoc describe.

Each model lists every field its route returns, in the order the route builds it, so that
validating an answer against its model changes nothing in it (tests/test_openapi.py checks
each against a real daemon). `/status` (polled hard), `GET /jobs` (pages of up to 1,000 jobs),
`GET /modules/{id}` (module.json's own key order) and `GET /jobs/{id}/timeline` (columns of up
to 1,000 values) are sent as built and only described by their model. `extra="allow"` is used
only where the set of keys is open by design, and each such model says why.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from sweatpants.api.housekeeping_schemas import DatabaseState
from sweatpants.jobs.models import JobStatus


class ApiModel(BaseModel):
    """Base of the answer models (keys a model does not list are not expected)."""


class OpenModel(BaseModel):
    """Base of the answer models whose set of keys is open; subclasses say why."""

    model_config = ConfigDict(extra="allow")


# ----- errors


class FieldProblem(ApiModel):
    """One problem of a request that failed validation."""

    field: str = Field(description="the input that is wrong, like `inputs.count` or `body`")
    message: str


class Error(ApiModel):
    """Every error answer (4xx, 5xx) has this one shape, rendered by one handler."""

    detail: str = Field(description="what is wrong and how to fix it, for people")
    error: str = Field(description="a short machine code: `not_found`, `invalid_input`, ...")
    field: str | None = Field(
        default=None, description="the input the error is about, when there is one"
    )
    errors: list[FieldProblem] | None = Field(
        default=None, description="every problem of a request that failed validation (422)"
    )
    matches: list[str] | None = Field(
        default=None, description="the job ids an ambiguous id prefix matches (409)"
    )


# ----- modules


class ModuleField(OpenModel):
    """A declared input or setting of a module. Open: module.json keys the engine does not
    know are kept and shown as given (modules in the wild declare their own)."""

    id: str
    type: str = Field(description="text, number, integer, boolean, json (others act as text)")
    required: bool
    default: Any = None
    description: str


class ModuleSummary(ApiModel):
    """A module as `GET /modules` lists it and as an install answers."""

    id: str
    name: str
    version: str
    description: str
    capabilities: list[str] = Field(description="`proxy`, `browser`")
    path: str = Field(description="the folder it is installed in")
    source: str | None = Field(description="the URL or folder it was installed from")
    source_info: dict[str, Any] | None = Field(
        description="how it was installed: kind (path, git, example), url, commit, ..."
    )
    requirements: Literal["none", "pending", "installed"] = Field(
        description="the state of its requirements.txt"
    )


class EnvPackage(ApiModel):
    name: str
    version: str


class ModuleEnv(ApiModel):
    """The virtual environment a module with a requirements.txt runs on (shared by the
    modules whose requirements are the same)."""

    key: str = Field(description="hash of its requirements, Python and what the SDK needs")
    path: str
    python: str | None = Field(description="the Python version it runs on")
    interpreter: str = Field(description="its Python executable: the module's jobs run on it")
    installer: str | None = Field(description="`uv`, or `pip` where uv cannot run")
    built_at: str | None = Field(description="when it was built (UTC, ISO 8601)")
    size_bytes: int = Field(description="bytes of its files, shared ones included")
    own_bytes: int = Field(description="bytes of the files no other environment or cache links")
    requirements: list[str] = Field(description="the module's requirement lines it was built for")
    sdk_needs: list[str] = Field(description="what the SDK needs, resolved with them")
    packages: list[EnvPackage] = Field(description="every package installed, with its version")
    in_use: bool = Field(description="a job is running on it")


class EnvRebuilt(ApiModel):
    """POST /modules/{id}/env/rebuild."""

    id: str
    env: ModuleEnv


class Module(OpenModel):
    """A module's full manifest and where it is installed. Open: keys of module.json that
    the engine does not know are kept and shown as given (first, in the file's order)."""

    id: str
    name: str
    version: str
    description: str
    capabilities: list[str] = Field(description="`proxy`, `browser`")
    entrypoint: str
    inputs: list[ModuleField]
    settings: list[ModuleField]
    path: str = Field(description="the folder it is installed in")
    source: str | None = Field(description="the URL or folder it was installed from")
    source_info: dict[str, Any] | None = Field(
        description="how it was installed: kind (path, git, example), url, commit, ..."
    )
    requirements: Literal["none", "pending", "installed"] = Field(
        description="the state of its requirements.txt"
    )
    env: ModuleEnv | None = Field(
        default=None,
        description="the environment it runs on; null without requirements (it runs on the "
        "daemon's) or before they are installed",
    )


class ModuleList(ApiModel):
    modules: list[ModuleSummary]


class Uninstalled(ApiModel):
    id: str
    uninstalled: bool


class SyncReport(ApiModel):
    """What `POST /modules/sync` did with each source of modules.yaml."""

    installed: list[dict[str, Any]] = Field(description="`{id, name, version, source}` each")
    failed: list[dict[str, Any]] = Field(description="`{source, error}` (and the module asked)")
    skipped: list[dict[str, Any]] = Field(description="modules already installed, unchanged")
    config_path: str = Field(description="the modules.yaml that was read")
    config_found: bool


class ModuleSettings(ApiModel):
    """`GET`/`PUT /modules/{id}/settings`: the settings stored for a module, which its jobs
    start from (a job's own settings override them key by key)."""

    module_id: str
    settings: dict[str, Any] = Field(
        description="setting id → value as stored; secret values are `********`"
    )


class ModuleProblem(ApiModel):
    path: str
    error: str


class ReloadReport(ApiModel):
    """What a rescan of the modules directory found."""

    modules: list[ModuleSummary]
    errors: list[ModuleProblem] = Field(description="one per folder that is not a valid module")


# ----- jobs
#
# `Job` describes `sweatpants.jobs.models.Job.to_api()`, key for key and in its order (a
# TypedDict writes its keys in the order it declares them). A TypedDict rather than a model
# for the same reason as the pages below: `GET /jobs` lists up to 1,000 of them.


class Progress(ApiModel):
    """How far a job says it is (`await self.progress(done, total)`)."""

    done: float | int
    total: float | int | None


class Job(TypedDict):
    """A job: what it runs, with what, where it stands, and how it ended."""

    id: Annotated[str, Field(description="a UUID; any unique prefix of 8+ characters names it too")]
    module_id: str
    module: Annotated[str, Field(description="the same as `module_id` (the earlier engine's name)")]
    status: JobStatus
    inputs: Annotated[dict[str, Any], Field(description="as validated against the manifest")]
    settings: dict[str, Any]
    max_duration: Annotated[str | None, Field(description="as given, like `2h`")]
    created_at: Annotated[str, Field(description="ISO 8601, UTC (`...Z`), like every time here")]
    started_at: Annotated[str | None, Field(description="the first start (a resume keeps it)")]
    completed_at: str | None
    deadline_at: Annotated[str | None, Field(description="when max_duration stops it")]
    error: Annotated[str | None, Field(description="why it failed, or which max_duration hit")]
    traceback: str | None
    exit_code: Annotated[int | None, Field(description="of its process; negative: a signal")]
    checkpoint: Annotated[
        dict[str, Any] | None, Field(description="the last `save_checkpoint(**data)`")
    ]
    progress: Progress | None
    result_count: int
    log_count: int
    resumes: Annotated[int, Field(description="times it was put back in the queue")]
    pid: Annotated[int | None, Field(description="its process while it runs")]
    executor: Annotated[str, Field(description="local or ray")]
    node: Annotated[str | None, Field(description="the machine it ran on")]
    schedule_id: Annotated[str | None, Field(description="the schedule that started it")]
    trigger: Annotated[
        str, Field(description="what started it: manual, schedule, catch_up, retry, rerun")
    ]
    attempt: Annotated[int, Field(description="1 for the first attempt; each retry adds one")]
    max_attempts: Annotated[int, Field(description="1 + retries")]
    retry_at: Annotated[
        str | None, Field(description="when a failed attempt back in `pending` starts again")
    ]
    retry_delay: Annotated[
        str | None, Field(description="the first wait before a retry (doubled each attempt)")
    ]
    created_by: Annotated[
        int | None,
        Field(description="the user id (`sub`) of the signed token that made it; null: master"),
    ]


class JobPage(TypedDict):
    """A page of jobs, newest first."""

    jobs: list[Job]
    next_cursor: Annotated[
        str | None,
        Field(description="pass as `before` for the next page; null when this page is the last"),
    ]


class JobSubmitted(ApiModel):
    """`POST /jobs` and `POST /jobs/{id}/rerun`: the new job's id; it waits for a free slot."""

    id: str
    status: Literal["pending"]


class JobStopped(ApiModel):
    """`POST /jobs/{id}/stop`: a running job is asked to stop and ends `stopped` within the
    grace; a queued one is stopped at once."""

    id: str
    status: Literal["stopping", "stopped"]


# ----- jobs: logs and results
#
# Pages hold up to 10,000 rows, so their models are TypedDicts: validated and documented
# like the others, without building an object per row. Measured for a page of 10,000
# results: ~24 ms to validate and write this way, ~70 ms as BaseModels, ~18 ms unvalidated.


class LogEntry(TypedDict):
    id: Annotated[int, Field(description="increasing within a job; a cursor for `after`")]
    timestamp: Annotated[str | None, Field(description="ISO 8601, UTC (`...Z`)")]
    level: Annotated[str, Field(description="DEBUG, INFO, WARNING, ERROR (as logged)")]
    message: str


class LogPage(TypedDict):
    """A page of a job's log, oldest first."""

    logs: list[LogEntry]
    next_cursor: Annotated[
        int | None,
        Field(description="pass as `after` for the next page (the last id, or the `after` given)"),
    ]


class ResultEntry(TypedDict):
    seq: Annotated[int, Field(description="1, 2, 3 ... within a job; a cursor for `after`")]
    data: Annotated[Any, Field(description="what the module yielded")]
    created_at: Annotated[str | None, Field(description="ISO 8601, UTC (`...Z`)")]


class ResultPage(TypedDict):
    """A page of a job's results, in the order they were yielded."""

    results: list[ResultEntry]
    total: Annotated[int, Field(description="how many results the job has in all")]
    next_cursor: Annotated[
        int | None,
        Field(description="pass as `after` for the next page; null when this page is the last"),
    ]


# ----- capabilities


class ProxyState(ApiModel):
    configured: bool
    url: str | None = Field(description="SWEATPANTS_PROXY_URL, credentials masked")
    rotation_url: str | None = Field(description="SWEATPANTS_PROXY_ROTATION_URL, masked")
    sticky_sessions: bool
    geo: bool


class PooledBrowser(ApiModel):
    id: str
    pid: int
    age_seconds: float
    contexts: int
    jobs: list[str]
    draining: bool
    leases_served: int


class BrowserPoolState(ApiModel):
    pool_size: int
    restart_hours: float
    state: Literal["idle", "running", "stopped"]
    alive: int
    starting: int
    draining: int
    contexts_in_use: int
    leases_served: int
    crashes: int
    restarts: int
    binary: str | None
    binary_source: str | None
    last_error: str | None
    browsers: list[PooledBrowser]


class CapabilitiesState(ApiModel):
    proxy: ProxyState
    browser: BrowserPoolState


class ProxyFetchAnswer(ApiModel):
    """`POST /proxy-fetch`. A network failure is an answer with `success: false` (HTTP 200),
    `error` and `detail`; `url` and `elapsed_ms` come with a success only."""

    success: bool
    content: str | None = Field(description="the body, as text or base64 (see `encoding`)")
    status_code: int | None
    headers: dict[str, str]
    encoding: Literal["text", "base64"] | None
    error: str | None = Field(description="a short code when `success` is false")
    detail: str | None = Field(default=None, description="what went wrong (failures only)")
    proxy: str = Field(description="direct, rotating or sticky")
    url: str | None = Field(default=None, description="the final URL, after redirects")
    elapsed_ms: float | None = None


# ----- status


class RunningJob(ApiModel):
    id: str
    module: str = Field(description="the module id (the earlier engine's name for it)")
    module_id: str
    status: Literal["running"]
    started_at: str | None
    progress: Progress | None


class JobCounts(ApiModel):
    """How many jobs are in each state."""

    pending: int
    running: int
    completed: int
    failed: int
    stopped: int


class DiskState(ApiModel):
    """Free space where the database lives; below the minimum, new jobs are refused (507)."""

    path: str
    free_bytes: int
    total_bytes: int
    min_free_bytes: int = Field(description="SWEATPANTS_MIN_FREE_MB, in bytes")
    low: bool
    full: bool = Field(description="a write failed for lack of space")
    message: str | None = Field(description="what is wrong and how to fix it, when it is")


class RayState(OpenModel):
    """The Ray cluster as the executor last saw it. Open: a connected cluster adds what its
    bridge reports (nodes, CPUs, free CPUs)."""

    address: str
    connected: bool
    error: str | None = None


class Status(OpenModel):
    """`GET /status`, answered from memory. Open: each status provider the engine has adds
    its own key (`proxy`, `browser`, and `ray` when a cluster is configured)."""

    status: Literal["running"]
    engine: Literal["sweatpants"]
    version: str
    uptime: str = Field(description="like `2h 15m`")
    uptime_seconds: float
    module_count: int
    jobs: list[RunningJob] = Field(description="the jobs running now")
    counts: JobCounts
    executor: str = Field(description="where jobs run by default: local or ray")
    max_running_jobs: int
    disk: DiskState
    proxy: ProxyState
    browser: BrowserPoolState
    ray: RayState | None = Field(default=None, description="only when Ray is configured")
    database: DatabaseState | None = Field(
        default=None, description="the database file's size and the space deleting gave back"
    )


# ----- charts


class Timeline(ApiModel):
    """`GET /jobs/{id}/timeline`: the job's life cut into buckets, a column per series with a
    value per bucket (columns, not rows: what a chart takes)."""

    id: str
    status: JobStatus
    start: str = Field(description="the first bucket's start (ISO 8601)")
    end: str = Field(description="the job's end, or now while it is not over")
    bucket_seconds: int = Field(description="each bucket's width, a whole number of seconds")
    time: list[int] = Field(description="each bucket's start, in epoch seconds")
    results: list[int] = Field(description="results stored with a time in each bucket")
    logs: list[int] = Field(description="log lines stored with a time in each bucket")
    results_per_second: list[float]
    logs_per_second: list[float]
    progress_done: list[float | None] = Field(
        description="the progress reported last by each bucket's end; null before the first"
    )
    progress_total: list[float | None]


class DayOfJobs(TypedDict):
    """Jobs created on one local day, by status."""

    date: str
    pending: int
    running: int
    completed: int
    failed: int
    stopped: int


class BusyModule(ApiModel):
    module_id: str
    jobs: int = Field(description="jobs created in the period")
    failed: int
    results: int
    run_seconds: float = Field(description="seconds its jobs ran (so far, for running ones)")


class JobStats(ApiModel):
    """`GET /stats/jobs`: jobs per day by status, and the busiest modules, over `days`."""

    days: int
    since: str = Field(description="local midnight of the first day (ISO 8601)")
    per_day: list[DayOfJobs] = Field(description="every day of the period, oldest first")
    modules: list[BusyModule] = Field(description="the 10 modules with the most jobs")
