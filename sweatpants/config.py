"""Settings: one table of every option, read from `SWEATPANTS_*` variables and an env file.

Each option has a name, a type, a default and a line of help. `Settings.load()` reads the
process environment, then the file named by `SWEATPANTS_ENV_FILE` (the environment wins),
validates every value and raises `ConfigError` naming the variable and the fix. `sources`
remembers where each value came from so `sweatpants config` can say so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from sweatpants.errors import ConfigError

PREFIX = "SWEATPANTS_"
SECRET_OPTIONS = frozenset({"api_auth_token", "proxy_url", "proxy_rotation_url"})


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("sweatpants", appauthor=False))


@dataclass(frozen=True)
class Option:
    """One setting: its attribute name, how to parse it, and what to tell the user."""

    name: str
    parse: Callable[[str], Any]
    help: str
    fix: str

    @property
    def env(self) -> str:
        return PREFIX + self.name.upper()


def _path(value: str) -> Path:
    if not value.strip():
        raise ValueError("empty path")
    return Path(value).expanduser()


def _port(value: str) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise ValueError("out of range")
    return port


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be positive")
    return number


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("unknown level")
    return level


def _host_list(value: str) -> tuple[str, ...]:
    return tuple(host.strip().lower() for host in value.split(",") if host.strip())


def _executor(value: str) -> str:
    name = value.strip().lower()
    if name not in {"local", "ray"}:
        raise ValueError("unknown executor")
    return name


def _text(value: str) -> str:
    return value.strip()


OPTIONS: tuple[Option, ...] = (
    Option("data_dir", _path, "Where the database, modules and logs live.", "a writable directory"),
    Option("modules_dir", _path, "Installed modules (default: DATA_DIR/modules).", "a directory"),
    Option("db_path", _path, "The SQLite database (default: DATA_DIR/sweatpants.db).", "a path"),
    Option(
        "modules_config_path",
        _path,
        "The modules.yaml that `module sync` reads (default: DATA_DIR/modules.yaml).",
        "a path to a YAML file",
    ),
    Option("api_host", _text, "Address the daemon listens on.", "an address like 127.0.0.1"),
    Option("api_port", _port, "Port the daemon listens on.", "an integer from 1 to 65535"),
    Option(
        "api_auth_token",
        _text,
        "When set, every request needs `Authorization: Bearer <token>`.",
        "any string",
    ),
    Option(
        "allowed_hosts",
        _host_list,
        "Extra Host names the API answers to, besides loopback (comma-separated).",
        "a comma-separated list of host names",
    ),
    Option("proxy_url", _text, "Rotating HTTP proxy, http://user:pass@host:port.", "a URL"),
    Option(
        "proxy_rotation_url",
        _text,
        "Proxy URL pattern for sticky sessions, with {session} (and optional {geo}).",
        "a URL containing {session}",
    ),
    Option("browser_pool_size", _positive_int, "Browsers shared by jobs.", "an integer >= 1"),
    Option(
        "browser_restart_hours",
        _positive_float,
        "Restart each pooled browser after this many hours.",
        "a positive number",
    ),
    Option("browser_path", _text, "Chromium binary for the browser pool.", "a path to chromium"),
    Option("log_level", _log_level, "Daemon log level.", "DEBUG, INFO, WARNING or ERROR"),
    Option("env_file", _path, "A file of KEY=VALUE lines read at start.", "a path to a file"),
    Option(
        "max_running_jobs", _positive_int, "Jobs running at once; others wait.", "an integer >= 1"
    ),
    Option(
        "stop_grace_seconds",
        _positive_float,
        "How long a stopping job may take to finish cooperatively before it is terminated.",
        "a positive number of seconds",
    ),
    Option(
        "ws_ping_seconds",
        _positive_float,
        "Keepalive interval of WebSocket streams.",
        "a positive number of seconds",
    ),
    Option("executor", _executor, "Where jobs run: local child processes or ray.", "local or ray"),
    Option(
        "ray_address",
        _text,
        "The Ray cluster for the ray executor: host:port of its head (GCS), or `auto`.",
        "an address like 10.0.0.5:6379",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The effective configuration. Build it with `Settings.load()` or directly in tests."""

    data_dir: Path = field(default_factory=_default_data_dir)
    modules_dir: Path | None = None
    db_path: Path | None = None
    modules_config_path: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8420
    api_auth_token: str = ""
    allowed_hosts: tuple[str, ...] = ()
    proxy_url: str = ""
    proxy_rotation_url: str = ""
    browser_pool_size: int = 2
    browser_restart_hours: float = 6.0
    browser_path: str = ""
    log_level: str = "INFO"
    env_file: Path | None = None
    max_running_jobs: int = 8
    stop_grace_seconds: float = 5.0
    ws_ping_seconds: float = 30.0
    executor: str = "local"
    ray_address: str = ""
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir).expanduser()
        object.__setattr__(self, "data_dir", data_dir)
        if self.modules_dir is None:
            object.__setattr__(self, "modules_dir", data_dir / "modules")
        if self.db_path is None:
            object.__setattr__(self, "db_path", data_dir / "sweatpants.db")
        if self.modules_config_path is None:
            object.__setattr__(self, "modules_config_path", data_dir / "modules.yaml")
        if self.proxy_rotation_url and "{session}" not in self.proxy_rotation_url:
            raise ConfigError(
                f"{PREFIX}PROXY_ROTATION_URL must contain {{session}}; "
                f"got {redact_url(self.proxy_rotation_url)!r}",
                field=f"{PREFIX}PROXY_ROTATION_URL",
            )

    # The three derived paths are never None after __post_init__; these give them types.
    @property
    def modules_path(self) -> Path:
        assert self.modules_dir is not None
        return self.modules_dir

    @property
    def database_path(self) -> Path:
        assert self.db_path is not None
        return self.db_path

    @property
    def modules_config(self) -> Path:
        assert self.modules_config_path is not None
        return self.modules_config_path

    @property
    def base_url(self) -> str:
        host = self.api_host
        if host in {"0.0.0.0", "::", ""}:
            host = "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.api_port}"

    @property
    def daemon_file(self) -> Path:
        """Where a running daemon records its URL, pid and token for the CLI and the tray."""
        return self.data_dir / "daemon.json"

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with some values replaced (CLI flags), noting their source."""
        current = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}
        current.update(values)
        sources = dict(self.sources)
        sources.update({name: "command line" for name in values})
        return Settings(**current, sources=sources)

    def described(self) -> list[dict[str, str]]:
        """Every option with its effective value (secrets masked) and where it came from."""
        rows = []
        for option in OPTIONS:
            value = getattr(self, option.name)
            shown = _display(option.name, value)
            rows.append(
                {
                    "name": option.env,
                    "value": shown,
                    "source": self.sources.get(option.name, "default"),
                    "help": option.help,
                }
            )
        return rows

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment (and the env file it names)."""
        env = dict(os.environ if environ is None else environ)
        raw: dict[str, tuple[str, str]] = {}
        env_file = env.get(PREFIX + "ENV_FILE", "").strip()
        if env_file:
            for key, value in read_env_file(Path(env_file).expanduser()).items():
                raw[key] = (value, f"env file {env_file}")
        for key, value in env.items():
            if key.startswith(PREFIX):
                raw[key] = (value, "environment")
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for option in OPTIONS:
            if option.env not in raw:
                continue
            text, source = raw[option.env]
            if not text.strip() and option.parse is not _text:
                continue  # an empty non-text value means "unset", as in most tools
            try:
                values[option.name] = option.parse(text)
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"{option.env}={text!r} is not valid ({exc}); expected {option.fix}.",
                    field=option.env,
                ) from None
            sources[option.name] = source
        return cls(**values, sources=sources)


def _display(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(value)
    text = str(value)
    if name == "api_auth_token" and text:
        return "********"
    if name in SECRET_OPTIONS:
        return redact_url(text)
    return text


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, for logs, errors and `config`."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments, blank lines, `export ` prefixes and quotes allowed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{PREFIX}ENV_FILE points to {path}, which cannot be read ({exc.strerror}); "
            "create the file or unset the variable.",
            field=PREFIX + "ENV_FILE",
        ) from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        stripped = stripped.removeprefix("export ").strip()
        key, sep, value = stripped.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"{path}:{number}: expected KEY=VALUE, got {line.strip()!r}",
                field=PREFIX + "ENV_FILE",
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
