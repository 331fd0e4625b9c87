"""Secret values at rest and on display (daemon side only; the runner and the SDK never
import this).

A field declared secret (`"type": "secret"`/`"password"` or `"secret": true`, see
`modules.manifest.Field.secret`) has its value:

- sealed where it is stored: `SecretBox.seal` replaces it with `{"$sealed": "<token>"}`, a
  Fernet token (AES-128-CBC + HMAC-SHA256, from `cryptography`) over the value's JSON text;
  the key is the file `secret.key` (mode 0600) in the data dir, made on first use;
- unsealed only to start the job's process (`SecretBox.unseal`);
- masked wherever it is shown (`mask`): `********`.

Values that were stored before sealing existed (plain values) pass through `unseal` as
they are, so old databases keep working.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from sweatpants.errors import ConfigError
from sweatpants.modules.manifest import SECRET_MASK

__all__ = ["KEY_FILE_NAME", "SEALED_KEY", "SECRET_MASK", "SecretBox", "is_sealed", "mask"]

KEY_FILE_NAME = "secret.key"
SEALED_KEY = "$sealed"


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
        self._fernet = Fernet(key)
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
        except (ValueError, TypeError):
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

    def unseal(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A copy with every {"$sealed": ...} replaced by the real value (others as they are).

        `ConfigError` when a token was sealed with another key (the key file was replaced).
        """
        opened: dict[str, Any] = {}
        for key, value in values.items():
            if is_sealed(value):
                opened[key] = self._open_token(key, value[SEALED_KEY])
            else:
                opened[key] = value
        return opened

    def _open_token(self, key: str, token: str) -> Any:
        try:
            text = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            where = f" ({self.key_file})" if self.key_file is not None else ""
            raise ConfigError(
                f"the secret value of {key!r} cannot be decrypted with this data dir's key"
                f"{where}: it was sealed with another key. Start a new job with the value "
                "given again"
            ) from None
        return json.loads(text.decode("utf-8"))


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
        key = Fernet.generate_key()
        try:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"cannot make the secrets key {key_file} ({exc.strerror or exc}); the data "
                "dir must be writable"
            ) from None
        try:
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        return key
    raise ConfigError(f"cannot read or make the secrets key {key_file}; try again")


def _tighten(key_file: Path) -> None:
    """Make an existing key file 0600 if it is looser (copied with other permissions)."""
    with contextlib.suppress(OSError):
        if stat.S_IMODE(key_file.stat().st_mode) & 0o077:
            key_file.chmod(0o600)
