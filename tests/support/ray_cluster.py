"""A real Ray cluster for tests, inside a network namespace that has only loopback.

On the host's network Ray swaps 127.0.0.1 for the machine's address and listens on every
interface; inside a namespace of our own every Ray socket stays on 127.0.0.1 and the ports are
private to the namespace (no clash with anyone else's cluster on this machine). The daemon
under test runs in the same namespace, and so does the test process's main thread while it
talks to it (`RayCluster.entered()`: setns(2) on the calling thread only).

Nodes run `ray start --block` from a small virtualenv of their own that reuses this
project's installed packages through a `.pth` file: Ray's `pip` runtime_env clones the
node's virtualenv for each requirements set, and cloning this project's 1 GB one takes
~40 s; cloning the small one takes a moment. Each node is stopped by signalling the process
we started (and, should anything linger, the processes below it): never `ray stop`, which
ends every Ray process of the machine by name, other people's clusters included.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.daemon import RunningDaemon, alive, descendants, wait_for

CLONE_NEWNET = 0x40000000
HEAD_PORT = 6379
NODE_START_TIMEOUT = 60.0
NODE_STOP_TIMEOUT = 30.0
STARTED_LINE = "Ray runtime started"


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns failed: {os.strerror(error)} (tests need root)")


def make_node_venv(folder: Path) -> Path:
    """A virtualenv without packages of its own that sees this project's site-packages."""
    if not (folder / "bin" / "python").exists():
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120
        )
    site = folder / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    main_site = sysconfig.get_paths()["purelib"]
    (site / "_sweatpants_tests_main.pth").write_text(
        f"import site; site.addsitedir({main_site!r})\n"
    )
    return folder / "bin" / "python"


def _is_job_runner(pid: int) -> bool:
    try:
        return b"sweatpants.jobs.runner" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class RayNode:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    pids: set[int] = field(default_factory=set)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


class RayCluster:
    """A head and worker nodes in a fresh network namespace; `stop()` removes all of it."""

    def __init__(self, root: Path) -> None:
        self.netns = f"sp-ray-{secrets.token_hex(3)}"
        self.root = root
        # Ray's socket paths must stay short (108 bytes): keep the session dir under /tmp.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="spray-", dir="/tmp"))
        self.python = make_node_venv(root / "node-venv")
        self.nodes: dict[str, RayNode] = {}
        self._next_port = 20000
        self._created = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{HEAD_PORT}"

    # ---- namespace -------------------------------------------------------------------------

    def create_namespace(self) -> None:
        subprocess.run(["ip", "netns", "add", self.netns], check=True, timeout=30)
        self._created = True
        self.ns_run(["ip", "link", "set", "lo", "up"])

    def ns_run(self, command: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *command],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Run the calling thread inside the namespace (its new sockets live there)."""
        original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(original)
        finally:
            os.close(target)
            os.close(original)

    # ---- nodes -----------------------------------------------------------------------------

    def _ports(self, count: int) -> list[int]:
        ports = list(range(self._next_port, self._next_port + count))
        self._next_port += 1000  # each node also gets a worker-port range above its ports
        return ports

    def _start(self, name: str, args: list[str]) -> RayNode:
        log_path = self.root / f"ray-{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWEATPANTS_", "RAY_"))}
        env.update({"RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"})
        agent, metrics, grpc, runtime_env, manager, objects = self._ports(6)
        command = [
            *self.prefix,
            str(self.python),
            "-m",
            "ray.scripts.scripts",
            "start",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--node-name={name}",
            f"--temp-dir={self.temp_dir}",
            "--disable-usage-stats",
            f"--dashboard-agent-listen-port={agent}",
            f"--metrics-export-port={metrics}",
            f"--dashboard-agent-grpc-port={grpc}",
            f"--runtime-env-agent-port={runtime_env}",
            f"--node-manager-port={manager}",
            f"--object-manager-port={objects}",
            f"--min-worker-port={objects + 1}",
            f"--max-worker-port={objects + 900}",
            *args,
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        node = RayNode(name, process, log_path)
        self.nodes[name] = node
        return node

    def start_head(self) -> RayNode:
        """The head: GCS and coordination only (no CPUs), as Ray advises for real clusters."""
        node = self._start(
            "head",
            ["--head", f"--port={HEAD_PORT}", "--num-cpus=0", "--include-dashboard=false"],
        )
        self._wait_nodes({"head"})
        return node

    def add_workers(self, names: list[str], cpus: int = 1) -> None:
        """Start worker nodes one after the other (Ray times out starting two at once)."""
        for name in names:
            self._start(name, [f"--address={self.address}", f"--num-cpus={cpus}"])
            self._wait_nodes({name})

    def alive_node_names(self) -> set[str]:
        code = (
            f"import json, ray; ray.init(address={self.address!r}, logging_level='ERROR', "
            "log_to_driver=False);"
            "print(json.dumps([n['NodeName'] for n in ray.nodes() if n['Alive']]))"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        done = subprocess.run(
            [*self.prefix, str(self.python), "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        if done.returncode != 0:
            return set()
        return set(json.loads(done.stdout.strip().splitlines()[-1]))

    def _wait_nodes(self, names: set[str]) -> None:
        """Until each node's `ray start` says it runs (then its processes are all there)."""
        deadline = time.monotonic() + NODE_START_TIMEOUT
        waiting = set(names)
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                node = self.nodes[name]
                if node.process.poll() is not None:
                    raise AssertionError(f"ray node {name} exited:\n{node.log()}")
                if STARTED_LINE in node.log_path.read_text(errors="replace"):
                    node.pids |= descendants(node.process.pid)
                    waiting.discard(name)
            time.sleep(0.2)
        if waiting:
            raise AssertionError(f"ray nodes {waiting} did not start in {NODE_START_TIMEOUT}s")

    def stop_node(self, name: str) -> None:
        """Stop one node as `ray stop` would there: SIGTERM to its Ray processes, SIGKILL
        after a grace. (Only this node's processes: found from the process we started.)"""
        node = self.nodes.pop(name)
        node.pids |= descendants(node.process.pid)
        ray_processes = [pid for pid in sorted(node.pids) if not _is_job_runner(pid)]
        for pid in [node.process.pid, *ray_processes]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + NODE_STOP_TIMEOUT
        everything = {node.process.pid, *node.pids}
        while time.monotonic() < deadline and any(alive(pid) for pid in ray_processes):
            time.sleep(0.1)
        for pid in everything:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            node.process.wait(10)
        wait_for(
            lambda: not any(alive(pid) for pid in everything),
            10,
            what=f"the processes of ray node {name} to end",
        )

    def stop(self) -> None:
        for name in [n for n in self.nodes if n != "head"]:
            self.stop_node(name)
        if "head" in self.nodes:
            self.stop_node("head")
        if self._created:
            subprocess.run(["ip", "netns", "del", self.netns], check=False, timeout=30)
            self._created = False
        shutil.rmtree(self.temp_dir, ignore_errors=True)


class NetnsDaemon(RunningDaemon):
    """A daemon started inside the cluster's namespace, using the Ray executor by default."""

    def __init__(self, cluster: RayCluster, data_dir: Path, **kw: object) -> None:
        env = {
            "SWEATPANTS_EXECUTOR": "ray",
            "SWEATPANTS_RAY_ADDRESS": cluster.address,
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        env.update(kw.pop("env", None) or {})  # type: ignore[call-overload]
        super().__init__(data_dir, env=env, **kw)  # type: ignore[arg-type]
        self.command_prefix = cluster.prefix
