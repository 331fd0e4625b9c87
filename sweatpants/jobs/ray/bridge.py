"""`python -m sweatpants.jobs.ray.bridge FD`: the daemon's Ray driver, in a process of its own.

It connects to the cluster, then serves the daemon over the socket `FD` (see `wire`): one
`JobActor` per job, created with the job's runtime_env, polled for output in batches that
are relayed verbatim. When the daemon goes away (the socket closes) the bridge exits at once:
Ray then ends the actors it owns, and their runner children with them, so a restarted daemon
can resume its jobs without a twin still running. When the cluster goes away, Ray ends this
process (a driver without its GCS for a minute exits); the daemon sees the socket close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from sweatpants.config import Settings
from sweatpants.jobs.ray import packaging, wire

NAMESPACE = "sweatpants"
CPUS_PER_JOB = 1.0
MAX_CONCURRENCY = 4  # take() long-polls while cancel/terminate/kill come in
TAKE_BYTES = 4 * 1024 * 1024
TAKE_WAIT = 0.5
CREDIT = 4  # data messages of one job in flight to the daemon
START_TIMEOUT = 600.0  # placing the job and building its environment (a first pip install)
KILL_FALLBACK_SECONDS = 3.0
STATUS_SECONDS = 2.0
UNAVAILABLE_RETRY_SECONDS = 30.0
CONNECT_PROBE_SECONDS = 3.0

log = logging.getLogger("sweatpants.ray.bridge")


class ClusterUnreachable(Exception):
    pass


def check_address(address: str) -> None:
    """Fail fast, with a clear message, where `ray.init` would hang for minutes."""
    if address.startswith("ray://"):
        raise ClusterUnreachable(
            "ray:// (Ray Client) addresses are not supported: make this machine a node of the "
            "cluster (`ray start --address=HEAD:6379 --num-cpus=0`) and set "
            f"{Settings.env_name('ray_address')}=HEAD:6379"
        )
    if address in ("", "auto", "local"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterUnreachable(f"{address!r} is not a host:port address")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_PROBE_SECONDS):
            pass
    except OSError as exc:
        raise ClusterUnreachable(
            f"nothing answers at {address} ({exc.strerror or exc}); is the Ray head running?"
        ) from None


def connect(address: str) -> None:
    check_address(address)
    import ray

    ray.init(
        address=address or "auto",
        namespace=NAMESPACE,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 2000 else text[:2000] + "…"


def first_line(exc: BaseException) -> str:
    """The gist of a Ray error (they run over many lines, with ids and addresses)."""
    lines = [line.strip() for line in describe_error(exc).splitlines() if line.strip()]
    useful = [line for line in lines if "node" in line.lower() or "died" in line.lower()]
    return (useful or lines or [type(exc).__name__])[-1][:300]


def node_lost(exc: BaseException) -> bool:
    """Did the actor die because its node went away (not because of the job)?"""
    text = str(exc).lower()
    return bool(re.search(r"node.*(died|dead|terminated|removed|drain|preempt)", text, re.S))


@dataclass
class DriverJob:
    """One job as the driver tracks it: its actor and the output credit the daemon gave."""

    id: str
    actor: Any = None
    credit: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CREDIT))
    ended: bool = False
    killing: bool = False


class RayDriver:
    """The Ray driver inside the bridge process: one actor per job, output relayed to the
    daemon (whose handle on this process is `executor.BridgeProcess`)."""

    def __init__(self, address: str, writer: asyncio.StreamWriter) -> None:
        self._address = address
        self._writer = writer
        self._jobs: dict[str, DriverJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._node_names: dict[str, str] = {}
        self.packages = packaging.Packages()
        self._actor_class: Any = None

    def send(self, message: dict[str, Any], payload: bytes = b"") -> None:
        self._writer.write(wire.encode(message, payload))

    def start_task(self, coroutine: Any) -> None:
        """Run `coroutine` as an asyncio task of this driver (kept referenced until it ends)."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- commands --------------------------------------------------------------------------

    async def handle(self, message: dict[str, Any]) -> None:
        op, job_id = message.get("op"), message.get("job", "")
        if op == "launch":
            job = DriverJob(job_id)
            self._jobs[job_id] = job
            self.start_task(self._run(job, message["spec"]))
            return
        existing = self._jobs.get(job_id)
        if existing is None:
            return
        job = existing
        if op == "more":
            job.credit.release()
        elif job.actor is not None and op in ("cancel", "terminate"):
            getattr(job.actor, op).remote()
        elif job.actor is not None and op == "kill":
            job.killing = True
            job.actor.kill.remote()
            self.start_task(self._kill_fallback(job))

    async def _kill_fallback(self, job: DriverJob) -> None:
        """If the actor itself does not answer, end it (and its child with it)."""
        import ray

        await asyncio.sleep(KILL_FALLBACK_SECONDS)
        if not job.ended and job.actor is not None:
            ray.kill(job.actor, no_restart=True)

    # ---- one job ---------------------------------------------------------------------------

    async def _run(self, job: DriverJob, spec: dict[str, Any]) -> None:
        import ray

        try:
            runtime_env = await asyncio.to_thread(self.packages.runtime_env, spec)
            job.actor = await self._create_actor(job.id, runtime_env)
            info = await asyncio.wait_for(job.actor.start.remote(spec), START_TIMEOUT)
        except TimeoutError:
            self._end_actor(job)
            self._launch_failed(
                job,
                f"no Ray node could start this job within {START_TIMEOUT:g}s "
                f"(it needs {CPUS_PER_JOB:g} free CPU; free now: {self._free_cpus()})",
            )
            return
        except Exception as exc:
            self._end_actor(job)
            self._launch_failed(
                job, f"the Ray cluster could not start this job: {describe_error(exc)}"
            )
            return
        node = await self._node_label(info["node_id"])
        self.send({"ev": "started", "job": job.id, "pid": info["pid"], "node": node})
        exit_message: dict[str, Any] = {"ev": "exit", "job": job.id}
        unavailable_since: float | None = None
        try:
            while True:
                await job.credit.acquire()
                try:
                    data, code = await job.actor.take.remote(TAKE_BYTES, TAKE_WAIT)
                    unavailable_since = None
                except ray.exceptions.ActorUnavailableError:
                    job.credit.release()
                    now = time.monotonic()
                    unavailable_since = unavailable_since or now
                    if now - unavailable_since > UNAVAILABLE_RETRY_SECONDS:
                        raise
                    await asyncio.sleep(0.5)
                    continue
                if data:
                    self.send({"ev": "data", "job": job.id}, data)
                else:
                    job.credit.release()
                if code is not None:
                    exit_message["code"] = code
                    break
        except ray.exceptions.RayActorError as exc:
            # The module runs in the actor's child, so a dead actor is the cluster's doing
            # (node gone, worker killed, out of memory), never the job's: resume it, unless
            # it died because it was being killed on request.
            where = f"the Ray node running this job ({node}) went away"
            if not node_lost(exc):
                where = f"the job's Ray actor on {node} died"
            exit_message["reason"] = f"{where}: {first_line(exc)}"
            exit_message["resume"] = not job.killing
        except Exception as exc:
            exit_message["reason"] = f"lost the job on the Ray cluster: {describe_error(exc)}"
        finally:
            job.ended = True
            self._end_actor(job)
            self._jobs.pop(job.id, None)
        self.send(exit_message)

    async def _create_actor(self, job_id: str, runtime_env: dict[str, Any]) -> Any:
        """The job's actor, named after the job: a leftover of an earlier run is ended first."""
        import ray

        from sweatpants.jobs.ray.node import JobActor

        if self._actor_class is None:
            self._actor_class = ray.remote(JobActor)
        name = f"sweatpants-job-{job_id}"
        for _ in range(40):
            with contextlib.suppress(ValueError):
                old = ray.get_actor(name, namespace=NAMESPACE)
                ray.kill(old, no_restart=True)
                await asyncio.sleep(0.25)
                continue
            try:
                return self._actor_class.options(
                    name=name,
                    namespace=NAMESPACE,
                    num_cpus=CPUS_PER_JOB,
                    max_concurrency=MAX_CONCURRENCY,
                    max_restarts=0,
                    runtime_env=runtime_env,
                ).remote()
            except ValueError:  # the name is still taken while the old actor dies
                await asyncio.sleep(0.25)
        raise RuntimeError(f"an earlier actor {name} of this job does not go away")

    def _end_actor(self, job: DriverJob) -> None:
        import ray

        if job.actor is not None:
            with contextlib.suppress(Exception):
                ray.kill(job.actor, no_restart=True)

    def _launch_failed(self, job: DriverJob, error: str) -> None:
        job.ended = True
        self._jobs.pop(job.id, None)
        self.send({"ev": "launch_failed", "job": job.id, "error": error})

    # ---- cluster status --------------------------------------------------------------------

    def _read_status(self) -> dict[str, Any]:
        import ray

        nodes = ray.nodes()
        available = ray.available_resources()
        total = ray.cluster_resources()
        self._node_names = {
            n["NodeID"]: n.get("NodeName") or n["NodeManagerAddress"] for n in nodes
        }
        return {
            "nodes": [
                {
                    "id": n["NodeID"],
                    "name": n.get("NodeName") or n["NodeManagerAddress"],
                    "address": n["NodeManagerAddress"],
                    "alive": bool(n["Alive"]),
                    "cpus": n.get("Resources", {}).get("CPU", 0.0),
                }
                for n in nodes
            ],
            "cpus": total.get("CPU", 0.0),
            "free_cpus": available.get("CPU", 0.0),
            "jobs": len(self._jobs),
        }

    def _free_cpus(self) -> str:
        try:
            import ray

            return f"{ray.available_resources().get('CPU', 0.0):g}"
        except Exception:
            return "unknown"

    async def _node_label(self, node_id: str) -> str:
        if node_id not in self._node_names:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._read_status)
        name = self._node_names.get(node_id, "ray")
        return f"{name} ({node_id[:8]})"

    async def report_status(self) -> None:
        while True:
            try:
                status = await asyncio.to_thread(self._read_status)
                self.send({"ev": "status", **status})
            except Exception as exc:
                self.send({"ev": "status", "error": describe_error(exc)})
            await asyncio.sleep(STATUS_SECONDS)


async def serve(fd: int, address: str) -> None:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    try:
        await asyncio.to_thread(connect, address)
    except BaseException as exc:  # ray.init raises all sorts; say what happened and end
        writer.write(wire.encode({"ev": "failed", "error": describe_error(exc)}))
        await writer.drain()
        return
    import ray

    driver = RayDriver(address, writer)
    writer.write(wire.encode({"ev": "ready", "ray_version": ray.__version__}))
    driver.start_task(driver.report_status())
    try:
        while True:
            received = await wire.read(reader)
            if received is None:
                break  # the daemon has gone
            await driver.handle(received[0])
            await writer.drain()
    finally:
        driver.packages.cleanup()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # do not linger: Ray ends this driver's actors once it is gone


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    fd = int(sys.argv[1])
    address = os.environ.get(Settings.env_name("ray_address"), "").strip()  # set by the executor
    asyncio.run(serve(fd, address))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # a half-made Ray connection must not keep this process alive


if __name__ == "__main__":
    main()
