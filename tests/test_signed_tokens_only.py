"""With only SWEATPANTS_API_SIGNED_TOKEN_SECRET set (no master token), the daemon makes a master
token of its own for the run and records it in daemon.json, so the CLI on this machine keeps
working while every other client needs a token (docs/api.md, "Signed user tokens")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from sweatpants.tokens import mint_token
from tests.support.daemon import wait_for

pytestmark = pytest.mark.live

SECRET = "only-the-signing-secret"


def recorded(data_dir: Path) -> dict[str, Any] | None:
    """daemon.json once the daemon has written it with a token, else None."""
    try:
        record: dict[str, Any] = json.loads((data_dir / "daemon.json").read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("token") and record.get("url") else None


def test_only_the_secret_gives_this_run_a_master_token_the_cli_finds(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SWEATPANTS_") and key != "NO_COLOR"
    }
    env.update(
        {
            "SWEATPANTS_DATA_DIR": str(data_dir),
            "SWEATPANTS_API_SIGNED_TOKEN_SECRET": SECRET,
            "PYTHONUNBUFFERED": "1",
        }
    )
    with (tmp_path / "daemon.log").open("wb") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "sweatpants", "serve", "--port", "0"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        record = wait_for(lambda: recorded(data_dir), timeout=60, what="daemon.json")
        assert (data_dir / "daemon.json").stat().st_mode & 0o077 == 0  # the user's alone
        with httpx.Client(base_url=record["url"], timeout=30) as client:
            wait_for(
                lambda: client.get("/status", headers=bearer(record["token"])).status_code == 200,
                timeout=60,
                what="the daemon to answer",
            )
            assert client.get("/jobs").status_code == 401  # no token: refused
            reader = mint_token(SECRET, 7, ["jobs:read"], ttl=600)
            assert client.get("/jobs", headers=bearer(reader)).status_code == 200
            assert (
                client.post(
                    "/jobs", json={"module_id": "hello"}, headers=bearer(reader)
                ).status_code
                == 403
            )

        # The CLI on this machine reads the run's token from daemon.json: no token configured.
        done = subprocess.run(
            [sys.executable, "-m", "sweatpants", "run", "hello", "-i", "name=local", "--follow"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        assert "completed" in (done.stdout + done.stderr).lower()
        assert record["token"] not in (tmp_path / "daemon.log").read_text(errors="replace")
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
