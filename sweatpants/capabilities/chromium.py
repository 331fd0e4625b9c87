"""One Chromium process with a DevTools (CDP) endpoint on loopback, owned by the daemon.

Job processes connect to it with Playwright's `connect_over_cdp` and open their own
contexts. The browser runs in its own session (process group) so that stopping it also
stops its renderers; on Linux `setpriv --pdeathsig KILL` ends it if the daemon dies without
cleaning up, and `sweep_orphans` removes what an earlier daemon left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sweatpants.errors import Unavailable
from sweatpants.processes import pid_alive
from sweatpants.web.binary import BASE_FLAGS

READY_TIMEOUT = 30.0


def launch_args(binary: str, user_data_dir: Path) -> list[str]:
    """The full command line for a pooled browser."""
    args = [binary, *BASE_FLAGS, f"--user-data-dir={user_data_dir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    args.append("about:blank")
    if sys.platform.startswith("linux") and shutil.which("setpriv"):
        args = ["setpriv", "--pdeathsig", "KILL", "--", *args]
    return args


@dataclass(eq=False)
class ChromiumProcess:
    """A launched browser: its pid, CDP endpoint and working folder."""

    name: str
    folder: Path
    process: asyncio.subprocess.Process
    ws_endpoint: str = ""
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    @classmethod
    async def launch(
        cls, binary: str, root: Path, name: str, track: set[ChromiumProcess] | None = None
    ) -> ChromiumProcess:
        """Start the browser and wait until its DevTools endpoint answers.

        `track` receives the process as soon as it exists, so that an owner stopping in the
        middle of a launch can still stop it.
        """
        folder = root / name
        shutil.rmtree(folder, ignore_errors=True)
        profile = folder / "profile"
        profile.mkdir(parents=True)
        (folder / "owner").write_text(str(os.getpid()))
        with open(folder / "stderr.log", "wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *launch_args(binary, profile),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        (folder / "browser.pid").write_text(str(process.pid))
        browser = cls(name=name, folder=folder, process=process)
        if track is not None:
            track.add(browser)
        try:
            browser.ws_endpoint = await browser._wait_endpoint(profile / "DevToolsActivePort")
        except BaseException:
            await browser.stop(grace=1.0)
            if track is not None:
                track.discard(browser)
            raise
        return browser

    async def _wait_endpoint(self, port_file: Path) -> str:
        deadline = time.monotonic() + READY_TIMEOUT
        delay = 0.02
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                code = self.process.returncode
                raise Unavailable(f"Chromium exited at start (code {code}): {self.stderr_tail()}")
            with contextlib.suppress(OSError):
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{int(lines[0])}{lines[1]}"
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.2)
        raise Unavailable(f"Chromium did not open its DevTools port within {READY_TIMEOUT:g} s")

    def stderr_tail(self, limit: int = 600) -> str:
        try:
            text = (self.folder / "stderr.log").read_text(errors="replace")
        except OSError:
            return ""
        return " ".join(text[-limit:].split())

    def signal_group(self, signum: int) -> None:
        """Send `signum` to the browser and every helper process it started."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    async def stop(self, grace: float = 3.0) -> None:
        """Terminate, then kill after `grace` seconds, then remove the working folder."""
        if self.alive:
            self.signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                self.signal_group(signal.SIGKILL)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.process.wait(), 5.0)
        self.signal_group(signal.SIGKILL)  # helpers that outlived the main process
        await asyncio.to_thread(shutil.rmtree, self.folder, True)


def sweep_orphans(root: Path) -> int:
    """Kill browsers and remove folders left by a daemon that is gone; returns how many."""
    if not root.is_dir():
        return 0
    swept = 0
    for folder in root.iterdir():
        try:
            owner = int((folder / "owner").read_text())
        except (OSError, ValueError):
            owner = 0
        if owner and pid_alive(owner):
            continue
        with contextlib.suppress(OSError, ValueError, ProcessLookupError, PermissionError):
            pid = int((folder / "browser.pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if str(folder).encode() in cmdline:
                os.killpg(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
        swept += 1
    return swept
