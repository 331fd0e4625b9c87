"""Settings: every option declared once, as a field of `Settings`, read from `SWEATPANTS_*`.

Each option is one dataclass field made with `option(...)`: the field gives its name, type
and default; the metadata says how to parse its variable, a line of help and the fix to
suggest for a wrong value. `OPTIONS` (and `OPTION` by name) are derived from those fields,
and `Settings.env_name("api_port")` is the variable of an option (`SWEATPANTS_API_PORT`), for
code that hands settings to another process. `Settings.load()` reads the process
environment, then the file named by `SWEATPANTS_ENV_FILE` (the environment wins), validates
every value and raises `ConfigError` naming the variable and the fix. `sources` remembers
where each value came from so `sweatpants config` can say so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import platformdirs

from sweatpants.errors import ConfigError
from sweatpants.web.urls import redact_url as redact_url  # kept here for its users

PREFIX = "SWEATPANTS_"
_SPEC = "sweatpants.option"  # the dataclass field metadata key that makes a field an option

T = TypeVar("T")


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("sweatpants", appauthor=False))


def _as_is(text: str) -> str:
    return text


def _masked(text: str) -> str:
    return "********" if text else ""


@dataclass(frozen=True)
class Option:
    """One setting: its attribute name, how to parse it, and what to tell the user."""

    name: str
    parse: Callable[[str], Any]
    help: str
    fix: str
    show: Callable[[str], str] = _as_is  # how `sweatpants config` prints a value (secrets)

    @property
    def env(self) -> str:
        return PREFIX + self.name.upper()


def option(
    default: T,
    parse: Callable[[str], Any],
    help: str,
    fix: str,
    *,
    show: Callable[[str], str] = _as_is,
) -> T:
    """A `Settings` field that is an option (typed as its default, for the type checker)."""
    spec = Option("", parse, help, fix, show)
    return field(default=default, metadata={_SPEC: spec})


def computed_option(
    factory: Callable[[], T], parse: Callable[[str], Any], help: str, fix: str
) -> T:
    """An option whose default is computed when `Settings` is built (e.g. a per-user folder)."""
    spec = Option("", parse, help, fix)
    return field(default_factory=factory, metadata={_SPEC: spec})


def _path(value: str) -> Path:
    if not value.strip():
        raise ValueError("empty path")
    return Path(value).expanduser()


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port < 65536:
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


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not 0 <= number < float("inf"):
        raise ValueError("must be a finite number, 0 or more")
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


def _job_transport(value: str) -> str:
    name = value.strip().lower()
    if name not in {"fork", "pipes"}:
        raise ValueError("unknown job transport")
    if name == "fork" and sys.platform == "win32":
        raise ValueError("fork is not available on Windows")
    return name


def _text(value: str) -> str:
    return value.strip()


def _webhook_url(value: str) -> str:
    url = value.strip()
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    return url


@dataclass(frozen=True)
class Settings:
    """The effective configuration. Build it with `Settings.load()` or directly in tests.

    Every field but `sources` is an option; their order is the order `sweatpants config`
    prints them in.
    """

    data_dir: Path = computed_option(
        _default_data_dir,
        _path,
        "Where the database, modules and logs live.",
        "a writable directory",
    )
    modules_dir: Path | None = option(
        None, _path, "Installed modules (default: DATA_DIR/modules).", "a directory"
    )
    db_path: Path | None = option(
        None, _path, "The SQLite database (default: DATA_DIR/sweatpants.db).", "a path"
    )
    modules_config_path: Path | None = option(
        None,
        _path,
        "The modules.yaml that `module sync` reads (default: DATA_DIR/modules.yaml).",
        "a path to a YAML file",
    )
    api_host: str = option(
        "127.0.0.1", _text, "Address the daemon listens on.", "an address like 127.0.0.1"
    )
    api_port: int = option(
        8420,
        _port,
        "Port the daemon listens on.",
        "an integer from 0 to 65535 (0: any free port)",
    )
    api_auth_token: str = option(
        "",
        _text,
        "When set, every request needs `Authorization: Bearer <token>`.",
        "any string",
        show=_masked,
    )
    api_signed_token_secret: str = option(
        "",
        _text,
        "When set, signed user tokens minted with this shared secret are accepted too, "
        "limited to their scopes (see docs/api.md).",
        "any string, shared with the token issuer",
        show=_masked,
    )
    allowed_hosts: tuple[str, ...] = option(
        (),
        _host_list,
        "Extra Host names the API answers to, besides loopback (comma-separated).",
        "a comma-separated list of host names",
    )
    proxy_url: str = option(
        "", _text, "Rotating HTTP proxy, http://user:pass@host:port.", "a URL", show=redact_url
    )
    proxy_rotation_url: str = option(
        "",
        _text,
        "Proxy URL pattern for sticky sessions, with {session} (and optional {geo}).",
        "a URL containing {session}",
        show=redact_url,
    )
    browser_pool_size: int = option(2, _positive_int, "Browsers shared by jobs.", "an integer >= 1")
    browser_restart_hours: float = option(
        6.0,
        _positive_float,
        "Restart each pooled browser after this many hours.",
        "a positive number",
    )
    browser_path: str = option(
        "", _text, "Chromium binary for the browser pool.", "a path to chromium"
    )
    log_level: str = option(
        "INFO", _log_level, "Daemon log level.", "DEBUG, INFO, WARNING or ERROR"
    )
    env_file: Path | None = option(
        None, _path, "A file of KEY=VALUE lines read at start.", "a path to a file"
    )
    max_running_jobs: int = option(
        8, _positive_int, "Jobs running at once; others wait.", "an integer >= 1"
    )
    stop_grace_seconds: float = option(
        5.0,
        _positive_float,
        "How long a stopping job may take to finish cooperatively before it is terminated.",
        "a positive number of seconds",
    )
    min_free_mb: float = option(
        100.0,
        _non_negative_float,
        "Free space (MB) the database's disk must keep: below it new jobs are refused (HTTP "
        "507) and queued ones wait until space returns; 0 turns the check off.",
        "a number of megabytes >= 0, like 100",
    )
    ws_ping_seconds: float = option(
        30.0,
        _positive_float,
        "Keepalive interval of WebSocket streams.",
        "a positive number of seconds",
    )
    executor: str = option(
        "local", _executor, "Where jobs run: local child processes or ray.", "local or ray"
    )
    job_transport: str = option(
        "pipes" if sys.platform == "win32" else "fork",
        _job_transport,
        "How local jobs get their processes: forked from a warm fork server, with their pipes "
        "passed to them (fork), or fresh interpreters talking over their stdin and stdout "
        "(pipes; the only one on Windows).",
        "fork or pipes (pipes on Windows)",
    )
    ray_address: str = option(
        "",
        _text,
        "The Ray cluster for the ray executor: host:port of its head (GCS), or `auto`.",
        "an address like 10.0.0.5:6379",
    )
    env_starter_idle_seconds: float = option(
        600.0,
        _positive_float,
        "A module environment's warm starter (the process its jobs are forked from) ends "
        "after this long without starting a job; the next job starts a new one.",
        "a positive number of seconds",
    )
    keep_jobs_days: float = option(
        0.0,
        _non_negative_float,
        "Delete finished jobs (with their logs and results) this many days after they ended, "
        "checked hourly; 0 keeps every job. A schedule's last run is always kept.",
        "a number of days >= 0, like 30 (0: keep everything)",
    )
    webhook_url: str = option(
        "",
        _webhook_url,
        "A webhook told about every job that ends (job.completed, job.failed, job.stopped), "
        "besides those added with POST /webhooks.",
        "an http:// or https:// URL",
        show=redact_url,
    )
    webhook_secret: str = option(
        "",
        _text,
        "Signs what SWEATPANTS_WEBHOOK_URL receives (X-Sweatpants-Signature and a bearer token).",
        "any string, shared with the receiver",
        show=_masked,
    )
    webhook_retry_seconds: float = option(
        10.0,
        _positive_float,
        "Wait before a failed webhook or callback delivery is tried again; doubled after each "
        "failure (at most an hour), for up to a day.",
        "a positive number of seconds",
    )
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
            variable = self.env_name("proxy_rotation_url")
            raise ConfigError(
                f"{variable} must contain {{session}}; got {redact_url(self.proxy_rotation_url)!r}",
                field=variable,
            )

    @staticmethod
    def env_name(name: str) -> str:
        """The variable of option `name`: `env_name("api_port")` is `SWEATPANTS_API_PORT`."""
        return OPTION[name].env

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
        sources = dict(self.sources)
        sources.update({name: "command line" for name in values})
        return replace(self, **values, sources=sources)

    def listening_on(self, port: int) -> Settings:
        """A copy naming the port the daemon really got (when `api_port` 0 asked for any)."""
        return replace(self, api_port=port)

    def described(self) -> list[dict[str, str]]:
        """Every option with its effective value (secrets masked) and where it came from."""
        rows = []
        for option in OPTIONS:
            value = getattr(self, option.name)
            rows.append(
                {
                    "name": option.env,
                    "value": _display(option, value),
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
        env_file = env.get(cls.env_name("env_file"), "").strip()
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


OPTIONS: tuple[Option, ...] = tuple(
    replace(item.metadata[_SPEC], name=item.name)
    for item in fields(Settings)
    if _SPEC in item.metadata
)
OPTION: Mapping[str, Option] = MappingProxyType({option.name: option for option in OPTIONS})


def _display(option: Option, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(value)
    return option.show(str(value))


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments, blank lines, `export ` prefixes and quotes allowed."""
    variable = Settings.env_name("env_file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{variable} points to {path}, which cannot be read ({exc.strerror}); "
            "create the file or unset the variable.",
            field=variable,
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
                field=variable,
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
