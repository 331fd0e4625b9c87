"""Shared parts of the benchmark scripts: a throw-away daemon, the bench modules, /proc readers,
the targets, the earlier engine's figures and the table every script prints.

Not a test helper: nothing here is collected by pytest. Every loop is bounded in count and time,
and the only address anything talks to is 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
SOURCE_VARIABLE = "SWEATPANTS_BENCH_SOURCE"  # set by --source; read when starting a daemon
T = TypeVar("T")
PYTHON = ROOT / ".venv" / "bin" / "python"

BASELINE_PATH = Path(__file__).with_name("baseline.json")

# Targets from issue 2 ("Benchmarks"). op: ">=" means higher is better, "<=" lower is better.
TARGETS: dict[str, tuple[str, float]] = {
    "results_one_job_per_s": (">=", 50_000),
    "results_20_jobs_per_s": (">=", 20_000),
    "logs_per_s": (">=", 50_000),
    "logs_redacted_per_s": (">=", 50_000),  # issue 12: a job with a secret (redaction.py)
    "first_log_p50_ms": ("<=", 100),
    "env_install_warm_s": ("<=", 2.0),  # issue 13: a module pinning one small package
    "env_first_log_p50_ms": ("<=", 40),  # issue 13: a module with an environment, warm
    "status_idle_rps": (">=", 2_000),
    "status_idle_p99_ms": ("<=", 50),
    "status_busy_rps": (">=", 2_000),
    "status_busy_p99_ms": ("<=", 50),
    "schedule_start_delay_p99_ms": ("<=", 1000),  # issue 14: 1,000 schedules every 60 s
    "status_schedules_p99_ms": ("<=", 50),  # issue 14: /status while they fire
    "daemon_idle_rss_mb": ("<=", 120),
    "job_search_p99_ms": ("<=", 100),  # issue 16: GET /jobs?q=... over 100,000 jobs
    "memory_1m_growth_mb": ("<=", 20),
    "timeline_max_ms": ("<=", 200),  # issue 16: GET /jobs/{id}/timeline of a 10M-row job
    "desktop_launch_s": ("<=", 2.0),  # issue 18: `sweatpants app` → dashboard visible
    "desktop_reopen_s": ("<=", 1.0),  # issue 18: window closed → shown again
    "desktop_closed_pss_mib": ("<=", 150),  # issue 18: the app's tree, window closed
}

# ---------------------------------------------------------------------------- bench modules

INT_INPUT = [
    {"id": "count", "type": "integer", "required": False, "default": 1000},
    {"id": "seconds", "type": "number", "required": False, "default": 0},
    {"id": "rate", "type": "integer", "required": False, "default": 0},
]

# Each result serialises to ~100 bytes of JSON: {"i": 123456, "payload": "xxx...x"}.
RESULTS_MODULE = """
from sweatpants import Module

PAD = "x" * 72


class Flood(Module):
    async def run(self, inputs, settings):
        await self.log("flood starting")
        for i in range(int(inputs["count"])):
            yield {"i": i, "payload": PAD}
"""

# Each log line is ~100 characters.
LOGS_MODULE = """
from sweatpants import Module

PAD = "y" * 80


class Chatter(Module):
    async def run(self, inputs, settings):
        log = self.log
        for i in range(int(inputs["count"])):
            await log(f"line {i:08d} {PAD}")
        yield {"lines": int(inputs["count"])}
"""

FIRST_LOG_MODULE = """
from sweatpants import Module


class Hello(Module):
    async def run(self, inputs, settings):
        await self.log("first-line")
        yield {"ok": True}
"""

# Runs for `seconds` (or until stopped), yielding ~`rate` results/s (0: as fast as it can)
# and one log line per 100 results.
STEADY_MODULE = """
import asyncio
import time

from sweatpants import Module

PAD = "z" * 72
BATCH = 100


class Steady(Module):
    async def run(self, inputs, settings):
        seconds, rate = float(inputs["seconds"]), int(inputs["rate"])
        deadline = time.monotonic() + seconds
        i = 0
        await self.log("steady starting")
        while time.monotonic() < deadline and not self.is_cancelled:
            for _ in range(BATCH):
                yield {"i": i, "payload": PAD}
                i += 1
            await self.log(f"{i} results so far")
            await asyncio.sleep(BATCH / rate if rate else 0)
"""

SLEEPER_MODULE = """
import asyncio

from sweatpants import Module


class Sleeper(Module):
    async def run(self, inputs, settings):
        await self.log("sleeping")
        for _ in range(int(inputs["seconds"] * 10)):
            if self.is_cancelled:
                break
            await asyncio.sleep(0.1)
        yield {"slept": inputs["seconds"]}
"""

MODULES = {
    "bench-flood": RESULTS_MODULE,
    "bench-chatter": LOGS_MODULE,
    "bench-hello": FIRST_LOG_MODULE,
    "bench-steady": STEADY_MODULE,
    "bench-sleeper": SLEEPER_MODULE,
}

# ---------------------------------------------------------------------------- the daemon


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_module(modules_dir: Path, module_id: str, code: str) -> None:
    folder = modules_dir / module_id
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"id": module_id, "name": module_id, "version": "1.0.0", "inputs": INT_INPUT}
    (folder / "module.json").write_text(json.dumps(manifest, indent=2))
    (folder / "main.py").write_text(textwrap.dedent(code).lstrip())


class Daemon:
    """`python -m sweatpants serve` on a free port of 127.0.0.1, in its own session."""

    def __init__(self, data_dir: Path, env: Mapping[str, str]) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / "daemon.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
        self.env.update(
            {
                "SWEATPANTS_DATA_DIR": str(data_dir),
                "SWEATPANTS_API_PORT": str(self.port),
                "PYTHONUNBUFFERED": "1",
                **env,
            }
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30.0) -> None:
        python = str(PYTHON) if PYTHON.exists() else sys.executable
        source = source_dir()
        if source != ROOT:  # the checkout's package comes first on sys.path
            self.env["PYTHONPATH"] = str(source)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [python, "-m", "sweatpants", "serve", "--port", str(self.port)],
                cwd=source,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            if self.process.poll() is not None:
                raise SystemExit(f"daemon exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if self.client().get("/status", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise SystemExit(f"daemon did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=30)
        return self._client

    def reset_client(self) -> None:
        """Drop pooled connections (the server may have closed them while we were away)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON answer; retried once on a dropped keep-alive connection."""
        for attempt_no in range(2):
            try:
                response = self.client().get(path, params=params or None)
                break
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                self.reset_client()
                if attempt_no == 1:
                    raise
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def start_job(self, module_id: str, **inputs: Any) -> str:
        response = self.client().post("/jobs", json={"module_id": module_id, "inputs": inputs})
        if response.status_code != 200:
            raise SystemExit(f"POST /jobs answered {response.status_code}: {response.text}")
        job_id: str = response.json()["id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self.get(f"/jobs/{job_id}")
        return job

    def stop(self, timeout: float = 30.0) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@contextlib.contextmanager
def bench_daemon(env: Mapping[str, str] | None = None) -> Iterator[Daemon]:
    """A fresh daemon on a free port with the bench modules installed; removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="sweatpants-bench-"))
    data_dir = tmp / "data"
    for module_id, code in MODULES.items():
        write_module(data_dir / "modules", module_id, code)
    settings = {
        "SWEATPANTS_MAX_RUNNING_JOBS": "32",
        "SWEATPANTS_LOG_LEVEL": "WARNING",
        "SWEATPANTS_STOP_GRACE_SECONDS": "2",
    }
    settings.update(env or {})
    daemon = Daemon(data_dir, settings)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
        if daemon.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon.process.pid, signal.SIGKILL)  # stray job processes, if any
        shutil.rmtree(tmp, ignore_errors=True)


def parse_ts(value: str) -> float:
    """The API's `2024-01-15T10:30:05.123Z` as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class JobsStuck(SystemExit):
    """Jobs that did not end in time (the daemon may be wedged): carries the stuck ids."""

    def __init__(self, message: str, job_ids: list[str]) -> None:
        super().__init__(message)
        self.job_ids = job_ids


def wait_final(daemon: Daemon, job_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    """Poll until every job has ended (0.1 s apart, at most `timeout` s); the final jobs.
    Raises JobsStuck (a SystemExit) naming the jobs still unfinished after `timeout`."""
    final = ("completed", "failed", "stopped")
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.1) + 2):
        for job_id in job_ids:
            if job_id not in done:
                job = daemon.job(job_id)
                if job.get("status") in final:
                    done[job_id] = job
        if len(done) == len(job_ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    missing = [job_id for job_id in job_ids if job_id not in done]
    if missing:
        raise JobsStuck(f"{len(missing)} job(s) still running after {timeout}s: {missing}", missing)
    return [done[job_id] for job_id in job_ids]


def stop_jobs(daemon: Daemon, job_ids: list[str]) -> None:
    for job_id in job_ids:
        daemon.client().post(f"/jobs/{job_id}/stop")


# ---------------------------------------------------------------------------- /proc


def rss_mb(pid: int) -> float | None:
    """VmRSS of `pid` in MB (None if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def reaped_cpu_seconds(pid: int) -> float:
    """CPU time of the finished children that `pid` and its live descendants have reaped
    (cutime + cstime): where a job process's CPU ends up once it has exited."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / ticks


def loadavg() -> str:
    """The 1-minute load average and the number of CPUs, e.g. '5.2 on 2 CPUs'."""
    try:
        one = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        one = "?"
    return f"{one} on {os.cpu_count()} CPUs"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    for _ in range(100_000):
        if not stack:
            break
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


@dataclass
class Tree:
    """The daemon's helper processes by role."""

    daemon: int
    fork_servers: list[int] = field(default_factory=list)
    jobs: list[int] = field(default_factory=list)  # runners with a job (pid known to the API)
    warm: list[int] = field(default_factory=list)  # runners started ahead, waiting for a job
    other: list[int] = field(default_factory=list)  # e.g. multiprocessing's resource tracker

    def role(self, pid: int) -> str:
        for name in ("fork_servers", "jobs", "warm", "other"):
            if pid in getattr(self, name):
                return {"fork_servers": "fork server", "jobs": "job", "warm": "warm runner"}.get(
                    name, "other"
                )
        return "?"


def process_tree(daemon_pid: int, job_pids: set[int] | None = None) -> Tree:
    """Classify the processes below the daemon. `job_pids`: the pids the API reports for
    running jobs (a runner not among them is a warm spare)."""
    tree = Tree(daemon_pid)
    job_pids = job_pids or set()
    below = descendants(daemon_pid)
    for pid in sorted(below):
        if "forkserver" in cmdline(pid) and parent_of(pid) == daemon_pid:
            tree.fork_servers.append(pid)
    for pid in sorted(below):
        command = cmdline(pid)
        if pid in tree.fork_servers:
            continue
        if pid in job_pids or parent_of(pid) in tree.fork_servers or "spawn_main" in command:
            tree.jobs.append(pid)
        elif "sweatpants.jobs.runner" in command or "--sweatpants-job-runner" in command:
            tree.warm.append(pid)
        else:
            tree.other.append(pid)
    return tree


# ---------------------------------------------------------------------------- figures


@dataclass
class Figure:
    key: str  # matches TARGETS / baseline.json where there is one
    label: str
    value: float | None
    unit: str
    note: str = ""

    @property
    def target(self) -> tuple[str, float] | None:
        return TARGETS.get(self.key)

    @property
    def verdict(self) -> str:
        target = self.target
        if target is None or self.value is None:
            return ""
        op, bound = target
        ok = self.value >= bound if op == ">=" else self.value <= bound
        return "ok" if ok else "MISSED"


def load_baseline() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BASELINE_PATH.read_text())
    return data.get("figures", {})


def fmt_number(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_baseline(entry: Any) -> str:
    value = entry.get("value") if isinstance(entry, dict) else entry
    if value is None:
        return "-"
    if isinstance(value, list):
        return "-".join(fmt_number(v) for v in value)
    return fmt_number(value) if isinstance(value, int | float) else str(value)


def print_table(
    title: str, figures: list[Figure], errors: list[str] | None = None, source: str | None = None
) -> None:
    baseline = load_baseline()
    rows = [("figure", "measured", "unit", "target", "earlier", "")]
    for fig in figures:
        target = fig.target
        rows.append(
            (
                fig.label,
                fmt_number(fig.value),
                fig.unit,
                f"{target[0]} {fmt_number(target[1])}" if target else "",
                fmt_baseline(baseline.get(fig.key)) if fig.key in baseline else "",
                fig.verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\n== {title}   (load average {loadavg()}; daemon: {source or describe_source()})")
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i in (0, 2) else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  " + "  ".join(cells).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    notes = [f for f in figures if f.note]
    for fig in notes:
        print(f"  · {fig.label}: {fig.note}")
    for error in errors or []:
        print(f"  ! FAILED {error}")
    sys.stdout.flush()


def write_json(
    path: str | None,
    script: str,
    figures: list[Figure],
    extra: Any = None,
    errors: list[str] | None = None,
) -> None:
    if not path:
        return
    out = {
        "script": script,
        "figures": [asdict(f) | {"verdict": f.verdict} for f in figures],
        "extra": extra,
        "errors": errors or [],
        "daemon": describe_source(),
        "loadavg": loadavg(),
    }
    Path(path).write_text(json.dumps(out, indent=2))


def arguments(
    description: str, extend: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--source",
        help="run the daemon from this checkout of the project instead of the working tree "
        "(e.g. a `git archive HEAD` export, to measure a commit while the tree is being edited)",
    )
    if extend is not None:
        extend(parser)
    args = parser.parse_args()
    if args.source:
        source = Path(args.source).resolve()
        if not (source / "sweatpants" / "__init__.py").is_file():
            raise SystemExit(f"--source {source}: no sweatpants package there")
        os.environ[SOURCE_VARIABLE] = str(source)
    return args


def source_dir() -> Path:
    """The checkout the daemon runs from (see --source)."""
    return Path(os.environ.get(SOURCE_VARIABLE) or ROOT)


def describe_source() -> str:
    source = source_dir()
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    if source == ROOT:
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "sweatpants"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        return f"working tree at {commit}" + (" + uncommitted engine changes" if dirty else "")
    return f"{source} (the tree's HEAD is {commit})"


def attempt(errors: list[str], phase: str, run: Callable[[], T]) -> T | None:
    """Run one phase of a benchmark; on failure note why and carry on with the others."""
    try:
        return run()
    except (Exception, SystemExit) as exc:
        errors.append(f"{phase}: {type(exc).__name__}: {exc}"[:600])
        return None


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points (0 with fewer than two)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def cpu_count() -> int:
    return os.cpu_count() or 1
