"""End to end as an operator works: `ssh` into a real sshd whose authorized_keys line (written
by `oms ssh-setup`) forces `oms tui`, in a real terminal (tmux), clearing the on-hold queue by
keystrokes; then the store is read to see it happened, as that operator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store import open_store
from store.models import AuditEvent, Order
from tests.sshd import SshServer, start_sshd, write_client_key

pytestmark = pytest.mark.slow

# The keys an operator presses (see the Queue screen's footer and F1).
HOLD_QUEUE_KEYS = ("2",)  # the On hold status
HOLD_QUEUE_TITLE = "─ On hold "
SELECT_ALL_KEYS = ("*",)
RELEASE_KEYS = ("u",)
HOLD_QUEUE_EMPTY = "No on hold orders."


def _need_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("OMS_REQUIRE_SERVICES") == "1":
            pytest.fail("tmux is required (OMS_REQUIRE_SERVICES=1) but not installed")
        pytest.skip(reason="tmux not installed")
    return tmux


class Terminal:
    """A tmux session of its own: send keys, read the screen, wait for text."""

    def __init__(self, tmux: str, name: str) -> None:
        self.tm, self.name = [tmux, "-L", name], name

    def start(self, command: str, env: dict[str, str], width: int = 120, height: int = 32) -> None:
        subprocess.run([*self.tm, "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command],
                       check=True, env=env)

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run([*self.tm, "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.15)  # one key at a time, as typed: each is read before the next

    def type(self, text: str) -> None:
        subprocess.run([*self.tm, "send-keys", "-t", self.name, "-l", text], check=True)

    def screen(self) -> str:
        return subprocess.run([*self.tm, "capture-pane", "-p", "-t", self.name], capture_output=True,
                              text=True).stdout

    def wait_for(self, text: str, timeout: float = 45.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def alive(self) -> bool:
        return subprocess.run([*self.tm, "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run([*self.tm, "kill-server"], capture_output=True)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal(_need_tmux(), f"oms-ssh-{os.getpid()}")
    yield term
    term.close()


def _oms(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def _ssh_command(server: SshServer, remote: str) -> str:
    return (f"ssh -tt -p {server.port} -i {server.client_key} -o BatchMode=yes -o IdentitiesOnly=yes "
            f"-o UserKnownHostsFile={server.known_hosts} -o StrictHostKeyChecking=yes "
            f"{server.user}@127.0.0.1 {remote}")


def test_an_operator_clears_the_hold_queue_over_ssh(tmp_path: Path, terminal: Terminal) -> None:
    home = tmp_path / "oms"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")} | {"OMS_HOME": str(home)}
    _oms(env, "demo", "--no-tui", "--orders", "300", "--skus", "60")
    store = open_store(f"sqlite:///{home / 'oms.db'}")
    with store.read() as conn:
        held = set(conn.execute(select(Order.id).where(Order.status == "on_hold")).scalars())
    assert held, "the demo holds some orders"

    server = start_sshd(tmp_path / "sshd", password_auth=False, terminal=True)
    alice_key = tmp_path / "alice_ed25519"
    public = write_client_key(alice_key)
    server.client_key = alice_key
    (home / "oms.toml").write_text(f'[[operators]]\nname = "alice"\nrole = "operator"\nkeys = ["{public} alice@laptop"]\n')
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

    with store.read() as conn:
        still = conn.execute(select(func.count()).select_from(Order).where(Order.status == "on_hold")).scalar_one()
        released = conn.execute(
            select(AuditEvent.entity_id, AuditEvent.actor).where(AuditEvent.action == "order.hold_released")
        ).all()
    assert still == 0
    assert {oid for oid, _ in released} >= held
    assert {actor for oid, actor in released if oid in held} == {"alice"}

    terminal.keys("q")
    deadline = time.monotonic() + 20
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not terminal.alive(), "the ssh session did not end when the TUI quit"
    store.dispose()
    server.stop()
