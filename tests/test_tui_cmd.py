"""`oms tui` and `oms ssh-setup` as an admin sets them up: who is at the keyboard, with which
role, and the authorized_keys lines that pin each SSH key to `oms tui` as its operator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oms.config import ConfigFileError, load_config
from oms.tui_cmd import BEGIN, END, NotAnOperator, resolve_operator

KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0ZXN0a2V5YWxpY2UxMjM0NTY3ODkwYWJjZGVmZ2hpams alice@laptop"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJvYnNrZXlib2IxMjM0NTY3ODkwYWJjZGVmZ2hpamtsbW4 bob@desk"

OPERATORS = f"""
[tui]
theme = "gruvbox"
default_role = "viewer"
keys = {{ "orders.reload" = "ctrl+l" }}

[[operators]]
name = "alice"
role = "operator"
keys = ["{KEY_A}"]

[[operators]]
name = "bob"
role = "admin"
keys = ["{KEY_B}"]
"""


def _oms(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")} | {"OMS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "oms", *args], env=full | (env or {}), capture_output=True,
                          text=True, timeout=120)


def _config(tmp_path: Path, text: str = OPERATORS) -> Path:
    path = tmp_path / "oms.toml"
    path.write_text(text)
    return path


def test_the_ssh_key_picks_the_operator_and_oms_toml_their_role(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    alice = resolve_operator(config, {"OMS_OPERATOR": "alice", "USER": "oms"})
    assert (alice.name, alice.role) == ("alice", "operator")
    bob = resolve_operator(config, {"OMS_OPERATOR": "bob", "USER": "oms"})
    assert (bob.name, bob.role) == ("bob", "admin")


def test_a_key_of_someone_no_longer_listed_is_refused(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    with pytest.raises(NotAnOperator, match="carol is not an operator"):
        resolve_operator(config, {"OMS_OPERATOR": "carol", "USER": "oms"})


def test_a_local_login_not_listed_gets_the_default_role(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    assert resolve_operator(config, {"USER": "dave"}).role == "viewer"
    assert resolve_operator(config, {"USER": "alice"}).role == "operator"  # listed by login name
    # No operators configured (a fresh install, the demo): the one local user runs everything.
    assert resolve_operator(None, {"USER": "dave"}).role == "admin"


def test_operators_are_checked_where_they_are_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="listed twice"):
        load_config(_config(tmp_path, OPERATORS + '\n[[operators]]\nname = "alice"\n'))
    with pytest.raises(ConfigFileError, match=r"operators\[1\] \(eve\)\.role: Input should be 'viewer'"):
        load_config(_config(tmp_path, '[[operators]]\nname = "eve"\nrole = "root"\n'))
    with pytest.raises(ConfigFileError, match="name"):
        load_config(_config(tmp_path, '[[operators]]\nname = "eve; rm -rf /"\n'))


def test_ssh_setup_prints_one_forced_command_line_per_key(tmp_path: Path) -> None:
    _config(tmp_path)
    done = _oms(tmp_path, "ssh-setup", "--oms", "/opt/oms/bin/oms")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    alice = next(line for line in lines if line.endswith("alice@laptop"))
    options, _, key = alice.partition(",restrict,pty ")
    assert options.startswith('command="env OMS_OPERATOR=alice ')
    assert options.endswith(' /opt/oms/bin/oms tui"')
    assert f"OMS_CONFIG={tmp_path / 'oms.toml'}" in options and f"OMS_HOME={tmp_path}" in options
    assert key == KEY_A


def test_ssh_setup_rewrites_its_block_and_keeps_other_keys(tmp_path: Path) -> None:
    _config(tmp_path)
    keys = tmp_path / "ssh" / "authorized_keys"
    keys.parent.mkdir()
    keys.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNvbWVvbmVlbHNlMTIzNDU2Nzg5MGFiY2RlZmdoaWprbG0 admin@ops\n")
    for _ in range(2):  # twice: the second run replaces the block, it does not add another
        done = _oms(tmp_path, "ssh-setup", "--write", str(keys))
        assert done.returncode == 0, done.stderr
    text = keys.read_text()
    assert text.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNvbWVvbmVlbHNl")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert text.count("OMS_OPERATOR=") == 2
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    # An operator removed from oms.toml loses their line on the next run.
    _config(tmp_path, OPERATORS.split("[[operators]]\nname = \"bob\"")[0])
    assert _oms(tmp_path, "ssh-setup", "--write", str(keys)).returncode == 0
    assert "OMS_OPERATOR=bob" not in keys.read_text() and "OMS_OPERATOR=alice" in keys.read_text()


def test_ssh_setup_refuses_a_line_that_is_not_a_public_key(tmp_path: Path) -> None:
    _config(tmp_path, '[[operators]]\nname = "eve"\nkeys = ["ssh-ed25519 AAAA\\" ,command=\\"sh"]\n')
    done = _oms(tmp_path, "ssh-setup")
    assert done.returncode != 0
    assert "eve" in done.stderr and "not an OpenSSH public key" in done.stderr
    assert "command=" not in done.stdout


def test_ssh_setup_without_operators_says_what_to_add(tmp_path: Path) -> None:
    done = _oms(tmp_path, "ssh-setup")
    assert done.returncode != 0 and "[[operators]]" in done.stderr


def test_oms_tui_without_a_terminal_says_how_to_connect(tmp_path: Path) -> None:
    assert _oms(tmp_path, "init").returncode == 0
    done = _oms(tmp_path, "tui")
    assert done.returncode != 0 and "needs a terminal" in done.stderr
