"""End to end as an operator works: `ssh` into a real sshd whose authorized_keys line (written
by `oms ssh-setup`) forces `oms tui`, in a real terminal (tmux), clearing the on-hold queue by
keystrokes; then the store is read to see it happened, as that operator."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store import Store, open_store
from store.models import AuditEvent, Order
from tests.sshd import SshServer, SshServers, write_client_key
from tests.tui.conftest import oms_env
from tests.tui.terminal import Terminal

pytestmark = pytest.mark.slow

# The keys an operator presses (see the Queue screen's footer and F1).
HOLD_QUEUE_KEYS = ("2",)  # the On hold status
HOLD_QUEUE_TITLE = "─ On hold "
SELECT_ALL_KEYS = ("*",)
RELEASE_KEYS = ("u",)
HOLD_QUEUE_EMPTY = "No on hold orders."


def _oms(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def _ssh_command(server: SshServer, remote: str) -> str:
    return (f"ssh -tt -p {server.port} -i {server.client_key} -o BatchMode=yes -o IdentitiesOnly=yes "
            f"-o UserKnownHostsFile={server.known_hosts} -o StrictHostKeyChecking=yes "
            f"{server.user}@127.0.0.1 {remote}")


@pytest.fixture
def demo_store(demo_home: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{demo_home / 'oms.db'}")
    yield store
    store.dispose()


def test_an_operator_clears_the_hold_queue_over_ssh(
    tmp_path: Path, demo_home: Path, demo_store: Store, sshd_factory: SshServers, terminal: Terminal,
) -> None:
    env = oms_env(demo_home)
    with demo_store.read() as conn:
        held = set(conn.execute(select(Order.id).where(Order.status == "on_hold")).scalars())
    assert held, "the demo holds some orders"

    server = sshd_factory.start("operators", password_auth=False, terminal=True)
    alice_key = tmp_path / "alice_ed25519"
    public = write_client_key(alice_key)
    server.client_key = alice_key
    (demo_home / "oms.toml").write_text(
        f'[[operators]]\nname = "alice"\nrole = "operator"\nkeys = ["{public} alice@laptop"]\n')
    server.authorized_keys.write_text("")  # only what ssh-setup writes
    _oms(env, "ssh-setup", "--write", str(server.authorized_keys))
    assert "OMS_OPERATOR=alice" in server.authorized_keys.read_text()

    # The client asks for a shell command; the key's forced command runs the TUI instead.
    terminal.start(_ssh_command(server, "cat /etc/passwd"), env | {"TERM": "xterm-256color"})
    screen = terminal.wait_for("alice (operator)")
    assert "root:x:0" not in screen

    terminal.keys(*HOLD_QUEUE_KEYS)
    terminal.wait_for(HOLD_QUEUE_TITLE)
    terminal.wait_for(f"{len(held):,} order")
    terminal.keys(*SELECT_ALL_KEYS)
    terminal.wait_for(f"{len(held):,} selected")
    terminal.keys(*RELEASE_KEYS)
    terminal.wait_for("Why")
    terminal.type("cleared by the risk desk")
    terminal.keys("Enter")
    terminal.wait_for(HOLD_QUEUE_EMPTY)

    with demo_store.read() as conn:
        still = conn.execute(select(func.count()).select_from(Order).where(Order.status == "on_hold")).scalar_one()
        released = conn.execute(
            select(AuditEvent.entity_id, AuditEvent.actor).where(AuditEvent.action == "order.hold_released")
        ).all()
    assert still == 0
    assert {oid for oid, _ in released} >= held
    assert {actor for oid, actor in released if oid in held} == {"alice"}

    terminal.keys("q")
    assert terminal.wait_gone(20), "the ssh session did not end when the TUI quit"
