"""A real X display for desktop tests: Xvfb on a free display number, trayer as tray host.

`start_xdisplay(workdir)` starts `Xvfb -displayfd` (the server picks a free display number
and tells us when it is ready to accept connections), then `trayer` docked at the top right.
The returned `XDisplay` runs X tools (`xwininfo`, `xprop`, `xdotool`, `import`) against it,
takes screenshots and stops everything it started. The app under test runs under
`dbus-run-session` (see `session_command`), which gives it its own D-Bus session bus.

Every wait polls a condition with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from PIL import Image

from tests.support.tools import require_tool

T = TypeVar("T")


def require_tools() -> None:
    """Fail loudly, naming the Debian package, when an X tool the tests need is missing."""
    require_tool("Xvfb", "xvfb")
    require_tool("trayer", "trayer")
    require_tool("xdotool", "xdotool")
    require_tool("xwininfo", "x11-utils")
    require_tool("xprop", "x11-utils")
    require_tool("import", "imagemagick")
    require_tool("dbus-run-session", "dbus")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.1) -> T:
    """Poll `probe` until it returns something truthy; raise naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    for _ in range(int(timeout / interval) + 2):
        try:
            value = probe()
        except Exception as exc:  # a probe may fail while the thing is starting
            last_error = exc
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


@dataclass(frozen=True)
class Window:
    """One X window as `xwininfo -tree` lists it (absolute position)."""

    wid: str
    name: str
    width: int
    height: int
    x: int
    y: int
    depth: int = 0

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


_TREE_LINE = re.compile(
    r"^\s*(0x[0-9a-f]+) (\(has no name\)|\".*?\")?.*?:?\s*(?:\(.*?\))?\s*"
    r"(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$"
)


@dataclass
class XDisplay:
    """A running Xvfb + trayer pair, and the tools to look at what is on screen."""

    display: str
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    width: int = 1280
    height: int = 800

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        env.update(extra or {})
        return env

    def run(self, *args: str, timeout: float = 15) -> str:
        done = subprocess.run(
            list(args), env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def windows(self) -> list[Window]:
        """Every window of the display with its absolute geometry."""
        out = self.run("xwininfo", "-root", "-tree")
        found = []
        for line in out.splitlines():
            match = _TREE_LINE.match(line)
            if not match:
                continue
            wid, name, w, h, x, y = match.groups()
            found.append(
                Window(
                    wid=wid,
                    name=(name or "").strip('"') if name != "(has no name)" else "",
                    width=int(w),
                    height=int(h),
                    x=int(x),
                    y=int(y),
                )
            )
        return found

    def window_pid(self, wid: str) -> int | None:
        out = self.run("xprop", "-id", wid, "_NET_WM_PID")
        match = re.search(r"= (\d+)", out)
        return int(match.group(1)) if match else None

    def window_name(self, wid: str) -> str:
        out = self.run("xprop", "-id", wid, "_NET_WM_NAME", "WM_NAME")
        for line in out.splitlines():
            match = re.search(r'= "(.*)"$', line)
            if match:
                return match.group(1)
        return ""

    def geometry(self, wid: str) -> Window:
        """A window's current absolute position and size (windows move after mapping)."""
        out = self.run("xwininfo", "-id", wid)

        def field(label: str) -> int:
            match = re.search(rf"{label}:\s+(-?\d+)", out)
            if not match:
                raise RuntimeError(f"xwininfo -id {wid} has no {label!r}")
            return int(match.group(1))

        return Window(
            wid=wid,
            name="",
            width=field("Width"),
            height=field("Height"),
            x=field("Absolute upper-left X"),
            y=field("Absolute upper-left Y"),
        )

    def is_viewable(self, wid: str) -> bool:
        return "Map State: IsViewable" in self.run("xwininfo", "-id", wid)

    def tray_children(self) -> list[Window]:
        """Windows docked inside trayer's window (the tray icons)."""
        tray = self.tray_window()
        out = self.run("xwininfo", "-id", tray.wid, "-tree")
        icons = []
        for line in out.splitlines():
            match = _TREE_LINE.match(line)
            if not match:
                continue
            wid, name, w, h, x, y = match.groups()
            if int(w) < 8 or int(h) < 8:
                continue
            icons.append(
                Window(
                    wid=wid,
                    name=(name or "").strip('"'),
                    width=int(w),
                    height=int(h),
                    x=int(x),
                    y=int(y),
                )
            )
        return icons

    def tray_window(self) -> Window:
        for window in self.windows():
            if window.name == "panel" and window.y == 0:
                return window
        raise RuntimeError("trayer's panel window is not on the display")

    def describe(self) -> str:
        """What the X server shows, for a failure report: `xwininfo -root -tree`."""
        try:
            return self.run("xwininfo", "-root", "-tree")
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            return f"(xwininfo -root -tree failed: {exc})"

    def screenshot(self, path: Path, wid: str = "root") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.run("import", "-window", wid, str(path), timeout=30)
        return path

    def click(self, x: int, y: int, button: int = 1) -> None:
        self.run("xdotool", "mousemove", str(x), str(y), "click", str(button))

    def close_window(self, wid: str) -> None:
        """Ask a window to close the way a window manager's close button does (WM_DELETE_WINDOW)."""
        send_delete_window(self.display, int(wid, 16))

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.processes.clear()


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
        ("pad", ctypes.c_long * 24),  # XEvent is a union of 24 longs; keep the buffer that big
    ]


def send_delete_window(display: str, window: int) -> None:
    """Send the ICCCM WM_DELETE_WINDOW client message to `window` (no WM runs under Xvfb)."""
    name = ctypes.util.find_library("X11")
    if name is None:
        raise RuntimeError("libX11 is missing: apt-get install -y libx11-6")
    xlib = ctypes.CDLL(name)
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    xlib.XSendEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_long,
        ctypes.c_void_p,
    ]
    xlib.XFlush.argtypes = [ctypes.c_void_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = xlib.XOpenDisplay(display.encode())
    if not dpy:
        raise RuntimeError(f"cannot open X display {display}")
    try:
        event = _ClientMessage()
        event.type = 33  # ClientMessage
        event.window = window
        event.message_type = xlib.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        event.format = 32
        event.data[0] = xlib.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        event.data[1] = 0  # CurrentTime
        if not xlib.XSendEvent(dpy, window, 0, 0, ctypes.byref(event)):
            raise RuntimeError("XSendEvent failed")
        xlib.XFlush(dpy)
    finally:
        xlib.XCloseDisplay(dpy)


def start_xdisplay(workdir: Path, width: int = 1280, height: int = 800) -> XDisplay:
    """Start Xvfb on a display number it picks itself, then trayer on it."""
    require_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    with (workdir / "xvfb.log").open("wb") as xvfb_log:
        xvfb = _start_xvfb(write_fd, xvfb_log, width, height)
    os.close(write_fd)
    xdisplay = XDisplay(display="", workdir=workdir, processes=[xvfb], width=width, height=height)
    try:
        number = _read_display_number(read_fd, xvfb, timeout=20)
        xdisplay.display = f":{number}"
        with (workdir / "trayer.log").open("wb") as trayer_log:
            trayer = subprocess.Popen(
                [
                    "trayer",
                    "--edge",
                    "top",
                    "--align",
                    "right",
                    "--widthtype",
                    "request",
                    "--height",
                    "32",
                    "--SetDockType",
                    "true",
                    "--transparent",
                    "false",
                    "--tint",
                    "0x303030",
                ],
                env=xdisplay.env(),
                stdout=trayer_log,
                stderr=subprocess.STDOUT,
            )
        xdisplay.processes.append(trayer)
        wait_for("trayer's panel window", xdisplay.tray_window, timeout=20)
    except BaseException:
        xdisplay.stop()
        raise
    finally:
        os.close(read_fd)
    return xdisplay


def _start_xvfb(write_fd: int, log: IO[bytes], width: int, height: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _read_display_number(fd: int, xvfb: subprocess.Popen[bytes], timeout: float) -> int:
    os.set_blocking(fd, False)
    buffer = b""

    def probe() -> str | None:
        nonlocal buffer
        if xvfb.poll() is not None:
            raise RuntimeError(f"Xvfb exited with {xvfb.returncode}")
        try:
            buffer += os.read(fd, 64)
        except BlockingIOError:
            return None
        return buffer.decode().strip() if buffer.endswith(b"\n") else None

    return int(wait_for("Xvfb to report its display number", probe, timeout=timeout))


def session_command(argv: Sequence[str], config: Path | None = None) -> list[str]:
    """Run `argv` with its own D-Bus session bus (what the GTK tray backend needs)."""
    options = [f"--config-file={config}"] if config else []
    return ["dbus-run-session", *options, "--", *argv]


# -- looking at screenshots ---------------------------------------------------------------


def rgb_pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    data = image.convert("RGB").tobytes()
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]


def distinct_colours(image: Image.Image) -> int:
    rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=rgb.width * rgb.height)
    return len(colours) if colours else 0


def share_near(image: Image.Image, colour: Sequence[int], tolerance: int = 40) -> float:
    """Fraction of pixels within `tolerance` (sum of channel differences) of `colour`."""
    pixels = rgb_pixels(image)
    target = tuple(colour[:3])
    near = sum(
        1 for p in pixels if sum(abs(a - b) for a, b in zip(p, target, strict=True)) < tolerance
    )
    return near / max(1, len(pixels))
