"""`oms tui` and `oms ssh-setup`: the operator TUI, locally or as an SSH forced command.

Who is working: `OMS_OPERATOR` when the SSH forced command set it (the key chose the
person), else the login name. Their role comes from `[[operators]]` in oms.toml; a local
user not listed there gets `[tui] default_role`, and with no operators configured at all
the single local user is an admin. An SSH login names a listed operator or is refused.

    oms ssh-setup                         print one authorized_keys line per operator key
    oms ssh-setup --write ~/.ssh/authorized_keys   (re)write oms's block in that file

Each line is `command="env OMS_OPERATOR=<name> ... <oms> tui",restrict,pty <key>`: the
key can run nothing but the TUI (no shell, no forwarding), and it runs as that operator.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from oms.config import Config
from oms.session import operator
from store import Store

if TYPE_CHECKING:
    from tui.access import Operator

__all__ = ["authorized_keys_lines", "resolve_operator", "run_tui", "ssh_setup", "tui"]

BEGIN = "# >>> oms ssh-setup: operator keys (rewritten by `oms ssh-setup --write`) >>>"
END = "# <<< oms ssh-setup <<<"
_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
                  r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/=]+( [^\"\n\r]*)?$")


class NotAnOperator(click.ClickException):
    """The SSH key names someone oms.toml no longer lists: refuse the session."""

    exit_code = 1


def resolve_operator(config: Config | None, env: Mapping[str, str]) -> Operator:
    """The operator at the keyboard (see the module docstring)."""
    from tui.access import Operator

    forced = env.get("OMS_OPERATOR")
    name = operator(env)
    operators = {op.name: op for op in (config.operators if config is not None else [])}
    if name in operators:
        return Operator(name, operators[name].role)
    if forced:
        raise NotAnOperator(f"{forced} is not an operator in oms.toml; ask an admin to add them under [[operators]]")
    if not operators:
        return Operator(name, "admin")
    return Operator(name, config.tui.default_role if config is not None else "viewer")


def run_tui(ctx: click.Context, store: Store) -> None:
    """Open the TUI for the operator at the keyboard, with oms.toml's theme and keys."""
    import edi_maps.names
    from tui import OmsApp

    config: Config | None = ctx.obj.get("config")
    operator = resolve_operator(config, os.environ)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.ClickException("oms tui needs a terminal; over SSH connect with a terminal (ssh -t)")
    tui_section = config.tui if config is not None else None
    app = OmsApp(
        store,
        operator=operator,
        keymap=tui_section.keys if tui_section else None,
        theme=tui_section.theme if tui_section else None,
        edi_names=edi_maps.names,
        shipping=config.shipping if config is not None else None,
    )
    app.run()


@click.command()
@click.pass_context
def tui(ctx: click.Context) -> None:
    """Open the operator TUI on the store."""
    from oms.cli import _open

    run_tui(ctx, _open(ctx))


def authorized_keys_lines(config: Config, *, oms: str, env: Mapping[str, str]) -> list[str]:
    """One forced-command line per operator key; `oms` is the command that runs oms (quoted
    already when it has spaces). `env` is what the TUI needs to find this
    store and config (OMS_CONFIG, OMS_HOME, OMS_DATABASE_URL), fixed in the line."""
    lines = []
    fixed = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    for op in config.operators:
        for n, key in enumerate(op.keys, 1):
            key = key.strip()
            if not _KEY.match(key):
                raise click.ClickException(
                    f"operators {op.name!r} keys[{n}] is not an OpenSSH public key line (type, base64, comment)")
            command = " ".join(part for part in ("env", f"OMS_OPERATOR={op.name}", fixed, oms, "tui") if part)
            if '"' in command or "\n" in command:
                raise click.ClickException(f"cannot put a double quote or newline in an authorized_keys command: {command}")
            lines.append(f'command="{command}",restrict,pty {key}')
    return lines


def _this_oms() -> str:
    """The `oms` beside this Python (a virtual environment's script), else `python -m oms`."""
    script = Path(sys.executable).parent / "oms"
    if script.is_file() and os.access(script, os.X_OK):
        return str(script)
    return f"{shlex.quote(sys.executable)} -m oms"


def _replace_block(text: str, lines: list[str]) -> str:
    kept: list[str] = []
    inside = False
    for line in text.splitlines():
        if line == BEGIN:
            inside = True
        elif line == END:
            inside = False
        elif not inside:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    block = [BEGIN, *lines, END]
    return "\n".join([*kept, *([""] if kept else []), *block]) + "\n"


@click.command(name="ssh-setup")
@click.option("--write", "target", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rewrite oms's block in this authorized_keys file (other lines are kept).")
@click.option("--oms", "oms_path", default=None, help="The oms executable the keys run (default: this one).")
@click.pass_context
def ssh_setup(ctx: click.Context, target: Path | None, oms_path: str | None) -> None:
    """Write authorized_keys lines that run `oms tui` as each [[operators]] key's operator."""
    from oms.cli import _config_path

    config: Config | None = ctx.obj.get("config")
    if config is None or not config.operators:
        raise click.ClickException(f"no [[operators]] in {_config_path()}: list each operator's name, role and keys")
    oms = oms_path or _this_oms()
    env = {"OMS_CONFIG": str(_config_path().resolve())}
    for name in ("OMS_HOME", "OMS_DATABASE_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    lines = authorized_keys_lines(config, oms=oms, env=env)
    if target is None:
        for line in lines:
            click.echo(line)
        return
    before = target.read_text(encoding="utf-8") if target.exists() else ""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".oms-tmp")
    tmp.write_text(_replace_block(before, lines), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(target)
    click.echo(f"wrote {len(lines)} operator key(s) to {target}", err=True)
