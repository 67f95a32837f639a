"""`oms gateway` as an admin runs it: oms.toml, a real sshd, signals, logs, exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from store import open_store
from store.heartbeats import beats
from store.models import Document, Order
from tests.edi_maps.x12text import interchange, order
from tests.sshd import SshServer, SshServers, sshd_factory  # noqa: F401  (fixture)

SECRET = "hunter2-Not-The-Password"


def _config(server: SshServer, *, mailbox: str = "") -> str:
    mailbox = mailbox or f'key_file = "{server.client_key}"'
    return f"""
[gateway]
dispatch_seconds = 0.5
retries = 2

[[partners]]
code = "acme"
name = "ACME Retail"
isa_qualifier = "ZZ"
isa_id = "SENDER"
gs_id = "SENDER"
our_isa_qualifier = "ZZ"
our_isa_id = "RECEIVER"
our_gs_id = "RECEIVER"

[partners.mailbox]
host = "127.0.0.1"
port = {server.port}
username = "{server.user}"
known_hosts = "{server.known_hosts}"
poll_seconds = 0.5
{mailbox}
"""


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMS_DATABASE_URL", "OMS_CONFIG")}
    env["OMS_HOME"] = str(home)
    return env


def _oms(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oms", *args], env=env or _env(home), capture_output=True, text=True,
                          timeout=timeout)


def _setup(tmp_path: Path, server: SshServer, **kw: str) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "oms.toml").write_text(_config(server, **kw))
    (home / "oms.toml").chmod(0o600)
    proc = _oms(home, "init")
    assert proc.returncode == 0, proc.stderr
    return home


def _counts(home: Path) -> tuple[int, int]:
    store = open_store(f"sqlite:///{home / 'oms.db'}")
    try:
        with store.read() as conn:
            return (int(conn.execute(select(func.count()).select_from(Order)).scalar_one()),
                    int(conn.execute(select(func.count()).select_from(Document)).scalar_one()))
    finally:
        store.dispose()


def test_once_takes_the_files_in_and_exits_0(tmp_path: Path, sshd_factory: SshServers) -> None:  # noqa: F811
    server = sshd_factory.start("acme")
    home = _setup(tmp_path, server)
    (server.root / "in" / "po.x12").write_text(interchange(order("PO-1", 2)))
    proc = _oms(home, "gateway", "--once")
    assert proc.returncode == 0, proc.stderr
    assert _counts(home) == (1, 1)
    assert len(list((server.root / "out").glob("997_*.x12"))) == 1
    assert '"worker": "partner:acme"' in proc.stderr  # structured: one JSON object per line


def test_kill_9_during_a_poll_then_a_restart_takes_each_file_exactly_once(
    tmp_path: Path, sshd_factory: SshServers,  # noqa: F811
) -> None:
    server = sshd_factory.start("acme")
    home = _setup(tmp_path, server)
    for n in range(1, 41):
        (server.root / "in" / f"po{n:02d}.x12").write_text(interchange(order(f"PO-{n}", 40), control=f"{n:09d}"))
    daemon = subprocess.Popen([sys.executable, "-m", "oms", "gateway"], env=_env(home),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _counts(home)[1] < 5:
            time.sleep(0.02)
        assert _counts(home)[1] >= 5, "the gateway took nothing in"
    finally:
        daemon.kill()  # SIGKILL: no chance to finish the file in hand
        daemon.wait()
    assert _counts(home)[1] < 40, "the whole poll finished before the kill; the test proves nothing"
    proc = _oms(home, "gateway", "--once")
    assert proc.returncode == 0, proc.stderr
    assert _counts(home) == (40, 40)
    assert len(list((server.root / "in" / "archive").iterdir())) == 40
    assert [p for p in (server.root / "in").iterdir() if p.is_file()] == []
    assert len(list((server.root / "out").glob("997_*.x12"))) == 40


def test_sigterm_stops_the_daemon_cleanly(tmp_path: Path, sshd_factory: SshServers) -> None:  # noqa: F811
    server = sshd_factory.start("acme")
    home = _setup(tmp_path, server)
    daemon = subprocess.Popen([sys.executable, "-m", "oms", "gateway", "--log", "text"], env=_env(home),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    store = open_store(f"sqlite:///{home / 'oms.db'}")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(b.state == "idle" for b in beats(store)):
            time.sleep(0.05)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
        assert "stopping" in err and "signal=SIGTERM" in err
        assert {b.worker: b.state for b in beats(store)} == {
            "partner:acme": "stopped", "dispatcher": "stopped", "schedules": "stopped"}
    finally:
        if daemon.poll() is None:
            daemon.kill()
        store.dispose()


def test_no_secret_reaches_the_logs_and_loose_key_files_draw_a_warning(
    tmp_path: Path, sshd_factory: SshServers,  # noqa: F811
) -> None:
    server = sshd_factory.start("acme")
    server.client_key.chmod(0o644)
    home = _setup(tmp_path, server, mailbox=f'key_file = "{server.client_key}"\nkey_passphrase_env = "ACME_KEY_PASS"')
    env = _env(home) | {"ACME_KEY_PASS": SECRET}
    proc = _oms(home, "gateway", "--once", env=env)
    assert "chmod 600" in proc.stderr and str(server.client_key) in proc.stderr
    assert SECRET not in proc.stderr and SECRET not in proc.stdout
    # A password login that fails: the password is never echoed either.
    (home / "oms.toml").write_text(_config(server, mailbox='password_env = "ACME_SFTP_PASSWORD"'))
    proc = _oms(home, "gateway", "--once", env=_env(home) | {"ACME_SFTP_PASSWORD": SECRET})
    assert proc.returncode == 1
    assert "AuthFailed" in proc.stderr or "authentication" in proc.stderr.lower()
    assert SECRET not in proc.stderr and SECRET not in proc.stdout


def test_configuration_mistakes_exit_2_and_name_the_key(tmp_path: Path, sshd_factory: SshServers) -> None:  # noqa: F811
    server = sshd_factory.start("acme")
    home = _setup(tmp_path, server, mailbox='password_env = "NOT_SET_ANYWHERE"')
    proc = _oms(home, "gateway", "--once")
    assert proc.returncode == 2
    assert "partners[1] (acme).mailbox.password_env: environment variable NOT_SET_ANYWHERE is not set" in proc.stderr
    (home / "oms.toml").write_text(_config(server).replace('known_hosts = ', 'known_hostz = '))
    proc = _oms(home, "gateway", "--once")
    assert proc.returncode == 2 and "partners[1] (acme).mailbox" in proc.stderr
