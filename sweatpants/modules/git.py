"""Fetching module sources with git, refusing every transport that can run commands.

Accepted URLs: `https://`, `ssh://` (also `git+ssh://`), scp-style `[user@]host:path`,
`file://`, and `http://` to a loopback host only. Refused: `ext::` and every other
`<transport>::` helper, `fd::`, `git://` (unauthenticated and unencrypted: anyone on the
path can substitute code that then runs on this machine), plain `http://` to other hosts for
the same reason, anything starting with `-` (option injection), hosts or users starting with
`-` (`ssh://-oProxyCommand=...`), whitespace and control characters.

git itself is then run with a protocol allow-list (`protocol.allow=never` plus the four
above), `GIT_PROTOCOL_FROM_USER=0`, no terminal or GUI prompts, the URL after `--`, a
shallow clone, and a deadline.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from sweatpants.config import redact_url
from sweatpants.errors import InvalidInput, Unavailable
from sweatpants.modules import process

DEFAULT_TIMEOUT = 300.0
MAX_URL_LENGTH = 2048

_SCHEMES = frozenset({"https", "http", "ssh", "git+ssh", "ssh+git", "file"})
_TRANSPORT_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_SCHEME_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._~+-]+)@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])"
    r":(?P<path>.+)$"
)
_SAFE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$")
_GIT_CONFIG = (
    "-c", "protocol.allow=never",
    "-c", "protocol.https.allow=always",
    "-c", "protocol.http.allow=always",
    "-c", "protocol.ssh.allow=always",
    "-c", "protocol.file.allow=always",
    "-c", "protocol.ext.allow=never",
    "-c", "credential.interactive=false",
)  # fmt: skip
_DROPPED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_ALLOW_PROTOCOL",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
)


def check_repo_url(url: object, *, field: str = "repo_url") -> str:
    """`url` stripped, when it is a git URL of an accepted kind; else `InvalidInput`.

    An absolute path to an existing folder is accepted too and turned into a file:// URL.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"{field}: a git URL is required", field=field)
    url = url.strip()
    if os.path.isabs(url) and not url.startswith("//") and Path(url).is_dir():
        return Path(url).resolve().as_uri()  # a local repository given as a plain path
    problem = _url_problem(url)
    if problem is not None:
        raise InvalidInput(
            f"{field}: {redact_url(url)!r} is refused: {problem}. Use https://, ssh://, "
            "user@host:path or file:// URLs.",
            field=field,
        )
    return url


def is_git_url(text: str) -> bool:
    """Whether `text` is written like a git URL (scheme URL or scp-style), safe or not."""
    return bool(_SCHEME_URL.match(text) or _TRANSPORT_HELPER.match(text) or _SCP.match(text))


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if url.startswith("-"):
        return "it starts with '-'"
    if _TRANSPORT_HELPER.match(url) or url.lower().startswith("fd::"):
        return "git transport helpers (ext::, fd:: and the like) can run commands"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "it contains whitespace or control characters"
    scheme = _SCHEME_URL.match(url)
    if scheme:
        return _scheme_url_problem(url, scheme.group(1).lower())
    scp = _SCP.match(url)
    if scp:
        if scp.group("user") and scp.group("user").startswith("-"):
            return "the user name starts with '-'"
        if scp.group("path").startswith("-"):
            return "the path starts with '-'"
        return None
    return "it is not a URL git can fetch from"


def _scheme_url_problem(url: str, scheme: str) -> str | None:
    if scheme == "git":
        return "git:// is unauthenticated and unencrypted"
    if scheme not in _SCHEMES:
        return f"the {scheme}:// transport is not allowed"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:
        return f"it is not a valid URL ({exc})"
    if scheme == "file":
        if host not in ("", "localhost"):
            return "file:// URLs must name a local path (file:///path/to/repo)"
        return None if parts.path else "the path is missing"
    if not host:
        return "the host is missing"
    if host.startswith("-") or (parts.username or "").startswith("-"):
        return "the host or user starts with '-'"
    if scheme == "http" and not _is_loopback(host):
        return "plain http:// is allowed only to this machine (127.0.0.1, localhost); use https://"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_ref(ref: object, *, field: str = "branch") -> str:
    """A branch or tag name that cannot be read as an option."""
    if not isinstance(ref, str) or not _SAFE_REF.fullmatch(ref) or ".." in ref:
        raise InvalidInput(f"{field}: {ref!r} is not a usable branch or tag name", field=field)
    return ref


def git_environment() -> dict[str, str]:
    """The daemon's environment with prompts off and nothing that redirects git."""
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_PROTOCOL_FROM_USER"] = "0"
    env["GCM_INTERACTIVE"] = "never"
    env["SSH_ASKPASS_REQUIRE"] = "never"
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return env


def _git() -> str:
    found = shutil.which("git")
    if found is None:
        raise Unavailable("git is not installed; install it (e.g. `apt-get install git`)")
    return found


def clone(
    url: str, dest: Path, *, branch: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Shallow-clone `url` into `dest` (which must not exist) and return the commit id."""
    url = check_repo_url(url)
    args = [_git(), *_GIT_CONFIG, "clone", "--depth", "1", "--quiet", "--no-tags"]
    if branch is not None:
        args += ["--branch", check_ref(branch)]
    args += ["--", url, str(dest)]
    shown = redact_url(url)
    done = process.run(args, timeout=timeout, env=git_environment(), what=f"git clone {shown}")
    if not done.ok:
        raise InvalidInput(
            f"git clone {shown} failed: {_redact(done.tail(), url)}", field="repo_url"
        )
    return head_commit(dest)


def head_commit(repo: Path, *, timeout: float = 30.0) -> str:
    """`git rev-parse HEAD` of a checked-out repository."""
    done = process.run(
        [_git(), "-C", str(repo), "rev-parse", "HEAD"],
        timeout=timeout,
        env=git_environment(),
        what="git rev-parse",
    )
    if not done.ok:
        raise InvalidInput(f"git rev-parse HEAD in {repo} failed: {done.tail()}", field="repo_url")
    return done.stdout.strip()


def remote_head(url: str, *, branch: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The commit the remote's HEAD (or `branch`) points to, without cloning."""
    url = check_repo_url(url)
    args = [_git(), *_GIT_CONFIG, "ls-remote", "--quiet", "--", url]
    args += [check_ref(branch)] if branch is not None else ["HEAD"]
    shown = redact_url(url)
    done = process.run(args, timeout=timeout, env=git_environment(), what=f"git ls-remote {shown}")
    if not done.ok:
        raise InvalidInput(
            f"git ls-remote {shown} failed: {_redact(done.tail(), url)}", field="repo_url"
        )
    refs: dict[str, str] = {}
    for line in done.stdout.splitlines():
        sha, _, name = line.strip().partition("\t")
        if sha and name:
            refs[name] = sha
    wanted = ["HEAD"]
    if branch is not None:
        wanted = [f"refs/heads/{branch}", f"refs/tags/{branch}^{{}}", f"refs/tags/{branch}"]
    for name in wanted:
        if name in refs:
            return refs[name]
    raise InvalidInput(
        f"git ls-remote {shown}: no {'branch or tag ' + branch if branch else 'HEAD'} found",
        field="repo_url",
    )


def _redact(text: str, url: str) -> str:
    shown = redact_url(url)
    return text.replace(url, shown) if shown != url else text
