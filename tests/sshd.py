"""A real OpenSSH sshd on loopback, one per partner, for the SFTP mailbox and gateway tests.

    server = start_sshd(tmp_path / "acme")   # or the `sshd` / `sshd_factory` fixtures
    server.root                             # the partner's folder (in/, out/): write files here
    server.settings                         # SftpSettings that pin this server's host key
    server.kill()                           # SIGKILL the listener and every session, mid-transfer
    server.freeze() / server.thaw()         # SIGSTOP / SIGCONT them all: a server that hangs
    server.restart()                        # same port, same host key (new_host_key=True: another)
    server.log()                            # what sshd said (LogLevel VERBOSE, sftp at INFO)

Each server runs `/usr/sbin/sshd -D -e -f <config>` on 127.0.0.1 and a free port, from its
own folder: an ed25519 host key, an authorized_keys with a generated ed25519 client key,
`ForceCommand internal-sftp -d <root>` so the login starts in the partner's folder, and
password logins on (with `UsePAM no` sshd checks the system password; tests use it to see a
wrong one refused). The login is whoever runs the tests; root is allowed.

Without sshd the tests skip, unless OMS_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from connectors.sftp import SftpSettings

__all__ = [
    "SSHD",
    "SshServer",
    "SshServers",
    "need_sshd",
    "sshd",
    "sshd_available",
    "sshd_factory",
    "start_sshd",
    "write_client_key",
]

SSHD = Path(os.environ.get("OMS_TEST_SSHD", "/usr/sbin/sshd"))
REQUIRE_SERVICES = os.environ.get("OMS_REQUIRE_SERVICES") == "1"
# sshd needs its privilege-separation folder when started by root (the service manager
# normally makes it); it is compiled in, so a test cannot point it elsewhere.
_PRIVSEP_DIR = Path("/run/sshd")
_READY_WITHIN = 20.0  # seconds for sshd to answer on its port before the fixture gives up


def sshd_available() -> str | None:
    """None if an OpenSSH sshd can be started here, else why not."""
    if not SSHD.is_file() or not os.access(SSHD, os.X_OK):
        return f"{SSHD} not installed"
    if os.geteuid() == 0 and not _PRIVSEP_DIR.is_dir():
        try:
            _PRIVSEP_DIR.mkdir(mode=0o755)
        except OSError as exc:
            return f"sshd needs {_PRIVSEP_DIR} when run as root and it cannot be made: {exc.strerror}"
    return None


def need_sshd() -> None:
    why = sshd_available()
    if why is None:
        return
    _unavailable(why)


def _unavailable(why: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(f"OpenSSH sshd required (OMS_REQUIRE_SERVICES=1) but unusable: {why}")
    pytest.skip(reason=f"sshd unusable: {why}")


def _version() -> tuple[int, int]:
    out = subprocess.run([str(SSHD), "-V"], capture_output=True, text=True, check=False)
    m = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stderr + out.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_client_key(path: Path, kind: str = "ed25519", passphrase: str | None = None, *, pem: bool = False) -> str:
    """Write a new private key (OpenSSH format, or traditional PEM for RSA/ECDSA with pem=True)
    with mode 0600, and return its authorized_keys line."""
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"no such key kind {kind!r}")
    encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if passphrase is not None:
        encryption = serialization.BestAvailableEncryption(passphrase.encode())
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if pem else serialization.PrivateFormat.OpenSSH
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt, encryption))
    path.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return public.decode("ascii")


@dataclass
class SshServer:
    """One sshd serving one partner folder. Made by `start_sshd`; stop it with `stop()`."""

    base: Path
    port: int
    root: Path
    client_key: Path
    known_hosts: Path
    user: str = field(default_factory=lambda: pwd.getpwuid(os.geteuid()).pw_name)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.base / "sshd_config"

    @property
    def host_key(self) -> Path:
        return self.base / "host_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.base / "authorized_keys"

    @property
    def log_path(self) -> Path:
        return self.base / "sshd.log"

    @property
    def settings(self) -> SftpSettings:
        """Connect as the test user with the client key; the host key pinned. Vary it with
        dataclasses.replace (a password, another known_hosts, another key)."""
        return SftpSettings(
            host="127.0.0.1", port=self.port, username=self.user, password=None, key_file=self.client_key,
            key_passphrase=None, known_hosts=self.known_hosts, timeout=15,
        )

    def known_hosts_line(self) -> str:
        public = (self.base / "host_ed25519.pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n"

    def authorize(self, public_line: str) -> None:
        """Let another client key log in (sshd reads the file at each login)."""
        with self.authorized_keys.open("a") as fh:
            fh.write(public_line.strip() + "\n")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the listener and every session it forked (each session is its own process
        group under sshd, so killing the listener alone would leave transfers running)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGSTOP)  # no new sessions while we collect the tree
            for pid in _descendants(proc.pid):
                _sigkill(pid)
            _sigkill(proc.pid)
        proc.wait()
        self._proc = None

    def freeze(self) -> None:
        """SIGSTOP the listener and its sessions: a partner's server that hangs (the TCP port
        still accepts connections, nothing answers). `thaw()` lets it go on."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, sig: signal.Signals) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        for pid in [self._proc.pid, *_descendants(self._proc.pid)]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.kill()

    def restart(self, *, new_host_key: bool = False) -> None:
        """Start again on the same port; with new_host_key, as if the partner's server had
        been replaced (the known_hosts file keeps pinning the old key)."""
        self.kill()
        if new_host_key:
            _write_host_key(self.host_key)
        why = self._launch()
        if why is not None:
            _unavailable(why)

    def _launch(self) -> str | None:
        """None once sshd runs and answers, else why not (and it is stopped)."""
        log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )
        except OSError as exc:
            return f"cannot run {SSHD}: {exc.strerror}"
        finally:
            log.close()
        why = self._wait_ready()
        if why is not None:
            self.kill()
            return f"{why}; its log:\n{self.log()[-2000:]}"
        return None

    def _wait_ready(self) -> str | None:
        """None once sshd sends its banner on the port, else why it did not."""
        deadline = time.monotonic() + _READY_WITHIN
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return f"sshd exited with status {self._proc.returncode}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return None
            except OSError:
                pass
            time.sleep(0.05)
        return f"sshd did not answer on port {self.port} within {_READY_WITHIN:.0f}s"


def start_sshd(base: Path, *, port: int | None = None, password_auth: bool = True, terminal: bool = False) -> SshServer:
    """Start an sshd for one partner in `base` (made if missing); its folder is `base/root`
    with `in/` and `out/`. Skips (or fails under OMS_REQUIRE_SERVICES=1) if sshd is unusable.

    `terminal=True` serves terminal logins instead of SFTP: no ForceCommand in the config, so
    each key runs what its authorized_keys line forces (`oms ssh-setup`), with a PTY."""
    need_sshd()
    base.mkdir(parents=True, exist_ok=True)
    root = base / "root"
    (root / "in").mkdir(parents=True, exist_ok=True)
    (root / "out").mkdir(parents=True, exist_ok=True)
    client_key = base / "id_ed25519"
    _write_host_key(base / "host_ed25519")
    (base / "authorized_keys").write_text(write_client_key(client_key) + "\n")
    why = "not started"
    for _ in range(3):  # a free port can be taken before sshd binds it: then another one
        server = SshServer(base=base, port=port or _free_port(), root=root, client_key=client_key,
                           known_hosts=base / "known_hosts")
        server.known_hosts.write_text(server.known_hosts_line())
        server.config.write_text(_config(server, password_auth=password_auth, terminal=terminal))
        failed = server._launch()
        if failed is None:
            return server
        why = failed
        if port is not None or "Bind to port" not in why:
            break
    _unavailable(why)


def _config(server: SshServer, *, password_auth: bool, terminal: bool = False) -> str:
    base = server.base
    lines = [
        f"Port {server.port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {server.host_key}",
        f"PidFile {base / 'sshd.pid'}",
        f"AuthorizedKeysFile {server.authorized_keys}",
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin yes",
        "PubkeyAuthentication yes",
        f"PasswordAuthentication {'yes' if password_auth else 'no'}",
        "KbdInteractiveAuthentication no",
        "PermitEmptyPasswords no",
        "AllowTcpForwarding no",
        "AllowAgentForwarding no",
        "X11Forwarding no",
        f"PermitTTY {'yes' if terminal else 'no'}",
        "PrintMotd no",
        "PrintLastLog no",
        "LogLevel VERBOSE",
        "MaxStartups 100",
        "MaxAuthTries 10",
    ]
    if not terminal:
        lines += [
            f"Subsystem sftp internal-sftp -l INFO -d {server.root}",
            f"ForceCommand internal-sftp -l INFO -d {server.root}",
        ]
    if _version() >= (9, 8):
        # failed logins and killed sessions would otherwise get loopback refused for a while
        lines.append("PerSourcePenalties no")
    return "\n".join(lines) + "\n"


def _write_host_key(path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    path.chmod(0o600)  # sshd refuses a host key others can read
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    path.with_name(path.name + ".pub").write_bytes(public + b"\n")


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class SshServers:
    """Several partners, each with its own sshd, port, keys and folder; all stopped at the end."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.servers: list[SshServer] = []

    def start(self, name: str = "partner", *, password_auth: bool = True, terminal: bool = False) -> SshServer:
        server = start_sshd(self.base / name, password_auth=password_auth, terminal=terminal)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def sshd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServers]:
    servers = SshServers(tmp_path_factory.mktemp("sshd"))
    yield servers
    servers.stop_all()


@pytest.fixture
def sshd(sshd_factory: SshServers) -> SshServer:
    """One running sshd for one partner; see the module docstring."""
    return sshd_factory.start()
