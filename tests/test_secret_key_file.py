"""The secrets key file on a full disk: making it fails clearly and leaves nothing behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sweatpants.errors import ConfigError
from sweatpants.secrets import KEY_FILE_NAME, SecretBox
from tests.test_full_disk import mount_tmpfs


@pytest.mark.system
def test_a_full_disk_fails_key_creation_clearly_and_leaves_no_empty_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    mount_tmpfs(data, "64k")
    try:
        filler = data / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
        with pytest.raises(ConfigError, match="cannot make the secrets key"):
            SecretBox.open(data)
        assert sorted(p.name for p in data.iterdir()) == ["filler"]  # no empty key, no temp file

        filler.unlink()
        box = SecretBox.open(data)
        sealed = box.seal({"token": "s3cret-value"}, {"token"})
        assert SecretBox.open(data).unseal(sealed) == {"token": "s3cret-value"}
        assert (data / KEY_FILE_NAME).stat().st_mode & 0o777 == 0o600
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)
