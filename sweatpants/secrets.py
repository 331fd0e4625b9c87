"""Secret values at rest and on display (daemon side only; the runner and the SDK never
import this).

A field declared secret (`"type": "secret"`/`"password"` or `"secret": true`, see
`modules.manifest.Field.secret`) has its value:

- sealed where it is stored: `SecretBox.seal` replaces it with `{"$sealed": "<token>"}`, a
  Fernet token (AES-128-CBC + HMAC-SHA256, from `cryptography`) over the value's JSON text;
  the key is the file `secret.key` (mode 0600) in the data dir, made on first use;
- unsealed only inside the daemon: to start the job's process (`for_run`), or to copy it
  into a new job (`for_new_job` opens what it is given sealed; rerun, stored settings);
- masked wherever it is shown (`mask`): `********`.

Values that were stored before sealing existed (plain values) pass through `unseal` as
they are, so old databases keep working.

What a job prints is redacted by the daemon as it stores it (`Redactor`): each of the job's
secret values of 4 or more characters is replaced by `********` in its log lines, its error
and its traceback.

`cryptography` is imported only when a box is opened: the CLI imports `mask` through
`jobs/models.py` and has no use for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweatpants.errors import ConfigError, InvalidInput

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from sweatpants.jobs.models import Job
    from sweatpants.modules.manifest import Manifest

__all__ = [
    "KEY_FILE_NAME",
    "MIN_REDACTED_LENGTH",
    "SEALED_KEY",
    "SECRET_MASK",
    "Redactor",
    "SecretBox",
    "is_sealed",
    "mask",
]

SECRET_MASK = "********"  # what a secret value is shown as (manifest.py re-exports it)
KEY_FILE_NAME = "secret.key"
SEALED_KEY = "$sealed"
MIN_REDACTED_LENGTH = 4  # shorter values would blank out ordinary words and numbers
_JOIN = "\x00"  # joins a frame's log lines for one scan per secret (see Redactor.lines)


def is_sealed(value: Any) -> bool:
    """True for a stored `{"$sealed": "<token>"}`."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SEALED_KEY), str)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def mask(values: Mapping[str, Any], secret_ids: set[str] | frozenset[str]) -> dict[str, Any]:
    """A copy of `values` for display: each secret value (not None/"") and each sealed value
    is `********`."""
    return {
        key: SECRET_MASK if (key in secret_ids and not _blank(value)) or is_sealed(value) else value
        for key, value in values.items()
    }


class SecretBox:
    """Encrypts secret values at rest (Fernet from `cryptography`; the key in a 0600 key file
    `secret.key` in the data dir, created on first use)."""

    def __init__(self, key: bytes, key_file: Path | None = None) -> None:
        from cryptography.fernet import Fernet

        self._fernet: Fernet = Fernet(key)
        self.key_file = key_file

    @classmethod
    def open(cls, data_dir: Path) -> SecretBox:
        """The box whose key is `<data_dir>/secret.key`; the file is made (0600) if missing.

        `ConfigError` when the file cannot be read or made, or does not hold a Fernet key.
        """
        key_file = Path(data_dir) / KEY_FILE_NAME
        key = _read_or_make_key(key_file)
        try:
            return cls(key, key_file)
        except (ValueError, TypeError):  # Fernet's complaint about a malformed key
            raise ConfigError(
                f"{key_file} does not hold a usable key (it must be 44 characters of "
                "url-safe base64, as written by Sweatpants). If no job holds secrets you "
                "still need, delete the file and Sweatpants makes a new one; jobs sealed "
                "with the old key then cannot be started again"
            ) from None

    def seal(
        self, values: Mapping[str, Any], secret_ids: set[str] | frozenset[str]
    ) -> dict[str, Any]:
        """A copy with each secret value (not None/"") replaced by {"$sealed": "<fernet token>"}."""
        sealed: dict[str, Any] = {}
        for key, value in values.items():
            if key in secret_ids and not _blank(value) and not is_sealed(value):
                text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                token = self._fernet.encrypt(text.encode("utf-8")).decode("ascii")
                sealed[key] = {SEALED_KEY: token}
            else:
                sealed[key] = value
        return sealed

    def unseal(self, values: Mapping[str, Any], *, section: str | None = None) -> dict[str, Any]:
        """A copy with every {"$sealed": ...} replaced by the real value (others as they are).

        A token this key cannot open raises `ConfigError` (the key file was replaced), or
        `InvalidInput` naming `<section>.<key>` when `section` is given (a request body).
        """
        opened: dict[str, Any] = {}
        for key, value in values.items():
            if is_sealed(value):
                opened[key] = self._open_token(key, value[SEALED_KEY], section)
            else:
                opened[key] = value
        return opened

    def for_new_job(
        self,
        manifest: Manifest,
        inputs: Mapping[str, Any] | None,
        settings: Mapping[str, Any] | None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new job's inputs and settings as stored: checked and coerced by the manifest,
        the secret ones sealed. Values may come plain, or sealed by this daemon (a stored
        job's or module's); `InvalidInput` for a sealed value this key cannot open."""
        opened_inputs = self.unseal(inputs or {}, section="inputs")
        opened_settings = self.unseal(settings or {}, section="settings")
        return (
            self.seal(manifest.coerce_inputs(opened_inputs), manifest.secret_input_ids()),
            self.seal(manifest.coerce_settings(opened_settings), manifest.secret_setting_ids()),
        )

    def for_run(
        self, manifest: Manifest, job: Job
    ) -> tuple[dict[str, Any], dict[str, Any], Redactor | None]:
        """What starts `job`: its inputs and settings unsealed, and the redactor of what it
        prints (None when it has no secret long enough to redact). `ConfigError` when a
        value was sealed with another key."""
        inputs, secret_inputs = self.open_values(job.inputs, manifest.secret_input_ids())
        settings, secret_settings = self.open_values(job.settings, manifest.secret_setting_ids())
        return inputs, settings, Redactor.of([*secret_inputs, *secret_settings])

    def open_values(
        self, stored: Mapping[str, Any], declared: set[str] | frozenset[str]
    ) -> tuple[dict[str, Any], list[Any]]:
        """For starting a job: its stored values unsealed, and the real values that are
        secret (sealed when stored, or declared secret now: rows from before sealing)."""
        opened = self.unseal(stored)
        secret = [
            value
            for key, value in opened.items()
            if not _blank(value) and (key in declared or is_sealed(stored[key]))
        ]
        return opened, secret

    def _open_token(self, key: str, token: str, section: str | None) -> Any:
        from cryptography.fernet import InvalidToken

        try:
            text = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            if section is not None:
                raise InvalidInput(
                    f"{section}.{key}: a sealed value this daemon did not make; send the "
                    "value itself",
                    field=f"{section}.{key}",
                ) from None
            where = f" ({self.key_file})" if self.key_file is not None else ""
            raise ConfigError(
                f"the secret value of {key!r} cannot be decrypted with this data dir's key"
                f"{where}: it was sealed with another key. Start a new job with the value "
                "given again"
            ) from None
        return json.loads(text.decode("utf-8"))


class Redactor:
    """Replaces a job's secret values in the text it prints by `********`.

    Only texts of `MIN_REDACTED_LENGTH` characters or more are replaced, longest first (so a
    secret that contains another is replaced whole). Numbers count by their decimal text;
    in lists and objects, each string or number inside counts."""

    __slots__ = ("_texts",)

    def __init__(self, texts: Iterable[str]) -> None:
        unique = {text for text in texts if len(text) >= MIN_REDACTED_LENGTH}
        self._texts = tuple(sorted(unique, key=lambda text: (-len(text), text)))

    @classmethod
    def of(cls, values: Iterable[Any]) -> Redactor | None:
        """A redactor for these secret values, or None when none is long enough to redact
        (then the job pays nothing for redaction)."""
        texts: list[str] = []
        for value in values:
            _collect_texts(value, texts, depth=0)
        made = cls(texts)
        return made if made._texts else None

    def __call__(self, text: str) -> str:
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, SECRET_MASK)
        return text

    def lines(self, texts: list[str]) -> list[str] | None:
        """`texts` redacted, or None when none holds a secret (the common case).

        The lines are joined and each secret looked for once in the whole: one scan in C per
        secret for a frame of up to 1,000 lines costs a tenth of a test per line. A secret
        that holds the joining character changes the number of parts when it is replaced:
        then each line is redacted on its own."""
        joined = _JOIN.join(texts)
        found = [secret for secret in self._texts if secret in joined]
        if not found:
            return None
        for secret in found:
            joined = joined.replace(secret, SECRET_MASK)
        parts = joined.split(_JOIN)
        if len(parts) != len(texts):
            return [self(text) for text in texts]
        return parts


def _collect_texts(value: Any, into: list[str], depth: int) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        into.append(str(value))
    elif depth < 20 and isinstance(value, Mapping):
        for item in value.values():
            _collect_texts(item, into, depth + 1)
    elif depth < 20 and isinstance(value, list):
        for item in value:
            _collect_texts(item, into, depth + 1)


def _read_or_make_key(key_file: Path) -> bytes:
    for _ in range(3):  # bounded: another process may make the file between our tries
        try:
            key = key_file.read_bytes().strip()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ConfigError(
                f"cannot read the secrets key {key_file} ({exc.strerror or exc}); make it "
                "readable by the user running Sweatpants"
            ) from None
        else:
            _tighten(key_file)
            return key
        from cryptography.fernet import Fernet

        key = Fernet.generate_key()
        if _publish_key(key_file, key):
            return key
    raise ConfigError(f"cannot read or make the secrets key {key_file}; try again")


def _publish_key(key_file: Path, key: bytes) -> bool:
    """Write `key` whole to a private temporary file, then link it into place: the key file is
    either absent or complete, never empty (a full disk fails the write, not the file).
    False when another process made the key file first."""
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(temporary, key_file)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(
            f"cannot make the secrets key {key_file} ({exc.strerror or exc}); the data "
            "dir must be writable and have a little free space"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    return True


def _tighten(key_file: Path) -> None:
    """Make an existing key file 0600 if it is looser (copied with other permissions)."""
    with contextlib.suppress(OSError):
        if stat.S_IMODE(key_file.stat().st_mode) & 0o077:
            key_file.chmod(0o600)
