"""Settings: every option documented, wrong values named with their fix, env file, sources."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from sweatpants.cli.main import main
from sweatpants.config import OPTION, OPTIONS, Settings, redact_url
from sweatpants.desktop.autostart import login_command
from sweatpants.desktop.launcher import SETTING_FLAGS
from sweatpants.desktop.launcher import main as launch
from sweatpants.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_live_under_the_users_data_dir(tmp_path: Path) -> None:
    settings = Settings.load({"SWEATPANTS_DATA_DIR": str(tmp_path)})
    assert settings.modules_path == tmp_path / "modules"
    assert settings.database_path == tmp_path / "sweatpants.db"
    assert settings.modules_config == tmp_path / "modules.yaml"
    assert settings.api_host == "127.0.0.1" and settings.api_port == 8420
    default = Settings.load({})
    assert not str(default.data_dir).startswith("/var/lib")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SWEATPANTS_API_PORT", "eighty", "an integer from 0 to 65535"),
        ("SWEATPANTS_API_PORT", "70000", "an integer from 0 to 65535"),
        ("SWEATPANTS_BROWSER_POOL_SIZE", "0", "an integer >= 1"),
        ("SWEATPANTS_LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING or ERROR"),
        ("SWEATPANTS_STOP_GRACE_SECONDS", "-1", "a positive number of seconds"),
        ("SWEATPANTS_EXECUTOR", "cloud", "local or ray"),
    ],
)
def test_wrong_values_name_the_variable_and_the_fix(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.load({name: value})
    assert name in error.value.detail and expected in error.value.detail
    assert error.value.field == name


def test_rotation_url_needs_a_session_placeholder_and_hides_passwords() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.load({"SWEATPANTS_PROXY_ROTATION_URL": "http://user:hunter2@proxy:8000"})
    assert "{session}" in error.value.detail and "hunter2" not in error.value.detail
    assert redact_url("http://user:hunter2@proxy:8000/x") == "http://user:***@proxy:8000/x"


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "sweatpants.env"
    env_file.write_text(
        "# comment\nexport SWEATPANTS_API_PORT=9000\nSWEATPANTS_LOG_LEVEL='debug'\n"
        "SWEATPANTS_API_AUTH_TOKEN=abc\n"
    )
    settings = Settings.load(
        {"SWEATPANTS_ENV_FILE": str(env_file), "SWEATPANTS_LOG_LEVEL": "warning"}
    )
    assert settings.api_port == 9000 and settings.log_level == "WARNING"
    rows = {row["name"]: row for row in settings.described()}
    assert rows["SWEATPANTS_API_PORT"]["source"] == f"env file {env_file}"
    assert rows["SWEATPANTS_LOG_LEVEL"]["source"] == "environment"
    assert rows["SWEATPANTS_API_AUTH_TOKEN"]["value"] == "********"
    assert rows["SWEATPANTS_DATA_DIR"]["source"] == "default"


def test_broken_env_file_says_which_line(tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text("SWEATPANTS_API_PORT=1\nthis is not a setting\n")
    with pytest.raises(ConfigError, match=r"bad.env:2: expected KEY=VALUE"):
        Settings.load({"SWEATPANTS_ENV_FILE": str(env_file)})
    with pytest.raises(ConfigError, match="cannot be read"):
        Settings.load({"SWEATPANTS_ENV_FILE": str(tmp_path / "missing.env")})


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"SWEATPANTS_[A-Z_]+", readme))
    missing = [option.env for option in OPTIONS if option.env not in documented]
    assert not missing, f"settings missing from README.md's table: {missing}"


def test_each_option_is_declared_once_as_a_settings_field() -> None:
    options = [item.name for item in fields(Settings) if item.name != "sources"]
    assert [option.name for option in OPTIONS] == options  # the order `config` prints
    assert Settings.env_name("api_port") == "SWEATPANTS_API_PORT" == OPTION["api_port"].env
    with pytest.raises(KeyError):
        Settings.env_name("no_such_option")
    defaults = Settings(data_dir=Path("/data"))
    assert (defaults.api_port, defaults.executor, defaults.allowed_hosts) == (8420, "local", ())


def test_port_zero_means_any_free_port() -> None:
    settings = Settings.load({"SWEATPANTS_API_PORT": "0", "SWEATPANTS_LOG_LEVEL": "debug"})
    assert settings.api_port == 0
    bound = settings.listening_on(43210)
    assert bound.base_url == "http://127.0.0.1:43210" and bound.log_level == "DEBUG"
    assert bound.sources == settings.sources  # where each value came from still holds


def test_overrides_are_noted_as_the_command_line() -> None:
    settings = Settings.load({"SWEATPANTS_API_PORT": "9000"}).with_overrides(api_host="::1")
    assert (settings.api_host, settings.api_port) == ("::1", 9000)
    assert settings.sources == {"api_port": "environment", "api_host": "command line"}


def test_command_line_options_set_real_settings(capsys: pytest.CaptureFixture[str]) -> None:
    """The launcher's and `serve`'s flags each set an option and name its variable in --help;
    the login start carries the launcher's flags and no secret."""
    assert main(["serve", "--help"]) == 0
    serve_help = capsys.readouterr().out
    assert "SWEATPANTS_API_HOST" in serve_help and "SWEATPANTS_API_PORT" in serve_help
    with pytest.raises(SystemExit):
        launch(["--help"])
    launcher_help = capsys.readouterr().out
    assert set(SETTING_FLAGS) <= set(OPTION)
    for name, (flag, _meaning) in SETTING_FLAGS.items():
        assert flag in launcher_help and Settings.env_name(name) in launcher_help
    environ = {Settings.env_name(name): f"value-{name}" for name in SETTING_FLAGS}
    environ["SWEATPANTS_API_AUTH_TOKEN"] = "s3cret"
    carried = login_command(environ)
    assert carried[-2:] == ["--env-file", str(Path("value-env_file").resolve())]
    assert carried[carried.index("--port") + 1] == "value-api_port"
    assert "s3cret" not in " ".join(carried)
