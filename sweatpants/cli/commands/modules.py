"""`sweatpants module list | install | install-git | uninstall | sync | reload | settings`
(and the module kit's `new | check | run`, in module_kit.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sweatpants.cli.client import LONG_TIMEOUT, error_from_body
from sweatpants.cli.commands import install_progress, module_kit
from sweatpants.cli.commands.jobs import key_value
from sweatpants.cli.context import Context
from sweatpants.cli.errors import EXIT_ERROR, EXIT_OK
from sweatpants.sizes import human_bytes


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    module = sub.add_parser(
        "module",
        aliases=["modules"],
        help="list, install, uninstall, sync and reload modules; new, check and run a folder",
        description=(
            "Manage the daemon's installed modules; write, check and try a module folder "
            "(new, check, run: no daemon needed)."
        ),
    )
    actions = module.add_subparsers(dest="module_action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", aliases=["ls"], parents=[common], help="installed modules")
    listing.set_defaults(handler=list_command)

    install = actions.add_parser(
        "install", parents=[common], help="install a module from a local folder"
    )
    install.add_argument("path", metavar="PATH", help="a folder holding module.json")
    install.set_defaults(handler=install_command)

    git = actions.add_parser(
        "install-git",
        parents=[common],
        help="install a module from a git repository",
        description="Clone a git repository and install the module at its root or in MODULE_NAME.",
    )
    git.add_argument(
        "repo_url", metavar="REPO_URL", help="https://, ssh:// or git@ URL, or a local path"
    )
    git.add_argument(
        "module_name", metavar="MODULE_NAME", nargs="?", help="sub-folder of the repository"
    )
    git.set_defaults(handler=install_git_command)

    uninstall = actions.add_parser(
        "uninstall", aliases=["remove"], parents=[common], help="uninstall a module"
    )
    uninstall.add_argument("module_id", metavar="ID", help="the module's id")
    uninstall.set_defaults(handler=uninstall_command)

    sync = actions.add_parser(
        "sync",
        parents=[common],
        help="install the modules listed in modules.yaml",
        description="Install or update the modules listed in SWEATPANTS_MODULES_CONFIG_PATH.",
    )
    sync.set_defaults(handler=sync_command)

    reload = actions.add_parser("reload", parents=[common], help="re-read the modules folder")
    reload.set_defaults(handler=reload_command)

    env = actions.add_parser(
        "env",
        parents=[common],
        help="show (or rebuild) the environment a module runs on",
        description=(
            "Show the virtual environment a module with a requirements.txt runs on: its "
            "Python, folder, size, when it was built and every package with its version. "
            "--rebuild builds it again from the module's requirements.txt."
        ),
    )
    env.add_argument("module_id", metavar="ID", help="the module's id")
    env.add_argument(
        "--rebuild", action="store_true", help="build the environment again (a fresh resolve)"
    )
    env.set_defaults(handler=env_command)

    settings = actions.add_parser(
        "settings",
        parents=[common],
        help="show or change the settings stored for a module",
        description=(
            "Show the settings stored in the daemon for a module (secrets as ********), or "
            "change them: KEY=VALUE stores a value (sent as text; the daemon converts it to "
            "the type the module declares), --unset KEY removes one. Every job of the module "
            "starts from these; a job's own settings (run -s) override them key by key."
        ),
        epilog=(
            "examples:\n"
            "  sweatpants module settings scraper\n"
            "  sweatpants module settings scraper delay=2 token=@token.txt\n"
            "  sweatpants module settings scraper --unset delay"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    settings.add_argument("module_id", metavar="ID", help="the module's id")
    settings.add_argument(
        "values",
        metavar="KEY=VALUE",
        nargs="*",
        type=key_value,
        help="a setting to store (repeatable); KEY=@FILE reads the value from FILE",
    )
    settings.add_argument(
        "--unset",
        metavar="KEY",
        action="append",
        default=[],
        help="remove a stored setting (repeatable)",
    )
    settings.set_defaults(handler=settings_command)

    module_kit.register(actions)  # new, check, run: the module kit (no daemon needed)


def list_command(ctx: Context) -> int:
    answer = ctx.client().get("/modules")
    if ctx.json:
        ctx.out.json(answer)
        return EXIT_OK
    modules = answer.get("modules", [])
    if not modules:
        ctx.out.line("No modules installed. Install one with: sweatpants module install PATH")
        return EXIT_OK
    _module_table(ctx, modules)
    return EXIT_OK


def _module_table(ctx: Context, modules: list[dict[str, Any]]) -> None:
    ctx.out.table(
        ["ID", "NAME", "VERSION", "CAPABILITIES"],
        [
            [
                str(m.get("id", "")),
                str(m.get("name", "")),
                str(m.get("version", "")),
                ", ".join(str(c) for c in m.get("capabilities") or []),
            ]
            for m in modules
        ],
    )


def _installed(ctx: Context, answer: dict[str, Any]) -> int:
    if ctx.json:
        ctx.out.json(answer)
    else:
        name = f" ({answer['name']})" if answer.get("name") else ""
        ctx.out.line(f"Installed {answer.get('id')} {answer.get('version', '')}{name}".rstrip())
    return EXIT_OK


def _install(ctx: Context, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST an install; without --json, follow its log (`?stream=true`) on a progress line."""
    if ctx.json:
        answer: dict[str, Any] = ctx.client().post(path, body, timeout=LONG_TIMEOUT)
        return answer
    with install_progress.ProgressLine(ctx.out.stderr) as progress:
        last = install_progress.follow(ctx.client(), path, body, progress.show)
    if last.get("type") != "done":
        raise error_from_body(last, int(last.get("status") or 500))
    module: dict[str, Any] = last.get("module") or {}
    return module


def install_command(ctx: Context) -> int:
    path = Path(ctx.args.path).expanduser().resolve()
    return _installed(ctx, _install(ctx, "/modules/install", {"source_path": str(path)}))


def install_git_command(ctx: Context) -> int:
    body: dict[str, Any] = {"repo_url": ctx.args.repo_url}
    if ctx.args.module_name:
        body["module_name"] = ctx.args.module_name
    if not ctx.json:
        ctx.client().get("/status")  # say "not reachable" before promising a clone
        ctx.out.note(f"Cloning {ctx.args.repo_url} ...", "dim")
    return _installed(ctx, _install(ctx, "/modules/install-git", body))


def env_command(ctx: Context) -> int:
    module_id = quote(ctx.args.module_id, safe="")
    if ctx.args.rebuild:
        answer = _install(ctx, f"/modules/{module_id}/env/rebuild", {})
        env = answer.get("env")
    else:
        env = ctx.client().get(f"/modules/{module_id}").get("env")
    if ctx.json:
        ctx.out.json(env)
        return EXIT_OK
    if not env:
        ctx.out.line(
            f"{ctx.args.module_id} has no environment of its own: without a requirements.txt "
            "it runs on the daemon's packages (or its requirements are not installed yet: "
            "sweatpants module reload)"
        )
        return EXIT_OK
    for label, key in (
        ("environment", "key"),
        ("path", "path"),
        ("python", "python"),
        ("installer", "installer"),
        ("built at", "built_at"),
    ):
        ctx.out.line(f"{label + ':':13}{env.get(key) or '-'}")
    size, own = int(env.get("size_bytes") or 0), int(env.get("own_bytes") or 0)
    ctx.out.line(f"{'size:':13}{human_bytes(size)} ({human_bytes(own)} not shared)")
    ctx.out.line(f"{'in use:':13}{'yes' if env.get('in_use') else 'no'}")
    packages = env.get("packages") or []
    ctx.out.table(
        ["PACKAGE", "VERSION"], [[p.get("name", ""), p.get("version", "")] for p in packages]
    )
    return EXIT_OK


def uninstall_command(ctx: Context) -> int:
    module_id = ctx.args.module_id
    answer = ctx.client().delete(f"/modules/{quote(module_id, safe='')}")
    if ctx.json:
        ctx.out.json(answer)
    else:
        ctx.out.line(f"Uninstalled {answer.get('id', module_id)}")
    return EXIT_OK


def sync_command(ctx: Context) -> int:
    answer = ctx.client().post("/modules/sync", timeout=LONG_TIMEOUT)
    failed = answer.get("failed") or []
    if ctx.json:
        ctx.out.json(answer)
        return EXIT_ERROR if failed else EXIT_OK
    if answer.get("config_found") is False:
        ctx.out.line(f"No modules config at {answer.get('config_path')}; nothing to sync.")
        return EXIT_OK
    installed = answer.get("installed") or []
    skipped = answer.get("skipped") or []
    if installed:
        _module_table(ctx, [m if isinstance(m, dict) else {"id": m} for m in installed])
    for item in skipped:
        if isinstance(item, dict):
            reason = f" ({item['reason']})" if item.get("reason") else ""
            ctx.out.line(f"skipped {item.get('id', '?')}{reason}")
        else:
            ctx.out.line(f"skipped {item}")
    for item in failed:
        what = " from ".join(str(x) for x in (item.get("module"), item.get("source")) if x)
        ctx.out.error(f"{what or 'a source'}: {item.get('error', 'failed')}")
    ctx.out.note(
        f"Sync: {len(installed)} installed, {len(skipped)} unchanged, {len(failed)} failed.",
        "red" if failed else "green",
    )
    return EXIT_ERROR if failed else EXIT_OK


def reload_command(ctx: Context) -> int:
    answer = ctx.client().post("/modules/reload")
    errors = answer.get("errors") or []
    if ctx.json:
        ctx.out.json(answer)
        return EXIT_ERROR if errors else EXIT_OK
    modules = answer.get("modules") or []
    if modules:
        _module_table(ctx, modules)
    for item in errors:
        ctx.out.error(f"{item.get('path', '?')}: {item.get('error', 'cannot load')}")
    ctx.out.note(f"Reloaded: {len(modules)} modules, {len(errors)} errors.")
    return EXIT_ERROR if errors else EXIT_OK


def settings_command(ctx: Context) -> int:
    module_id = ctx.args.module_id
    path = f"/modules/{quote(module_id, safe='')}/settings"
    changes: dict[str, Any] = dict(ctx.args.values)
    changes.update((key, None) for key in ctx.args.unset)
    client = ctx.client()
    answer = client.request("PUT", path, body=changes) if changes else client.get(path)
    if ctx.json:
        ctx.out.json(answer)
        return EXIT_OK
    stored: dict[str, Any] = answer.get("settings") or {}
    if changes:
        ctx.out.note(f"Updated the settings stored for {module_id}.", "green")
    if not stored:
        ctx.out.line(
            f"No settings stored for {module_id}. "
            f"Store one with: sweatpants module settings {module_id} KEY=VALUE"
        )
        return EXIT_OK
    ctx.out.table(["SETTING", "VALUE"], [[key, _shown(stored[key])] for key in sorted(stored)])
    return EXIT_OK


def _shown(value: Any) -> str:
    """A stored value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
