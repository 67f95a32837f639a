"""The SFTP mailbox against a real OpenSSH sshd: host keys, logins, and connections that die
in the middle of a transfer (SIGKILL, not a mock)."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from dataclasses import replace
from pathlib import Path

import paramiko
import pytest

from connectors.errors import AuthFailed, HostKeyRefused, TransferError, UnsafeName
from connectors.sftp import SftpMailbox, SftpSettings, loose_permissions
from tests.sshd import SshServer, SshServers, sshd, sshd_factory, write_client_key  # noqa: F401  (fixtures)

BIG = 24 * 1024 * 1024  # far more than paramiko's 2 MiB channel window: the kill lands mid-transfer
KILL_AFTER = 3 * 1024 * 1024
SECRET = "correct horse battery staple"


def fingerprint(pub_file: Path) -> str:
    blob = base64.b64decode(pub_file.read_text().split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class KillMidway:
    """A progress callback and a killer thread: once `threshold` bytes went by, the transfer
    waits until the killer has SIGKILLed the server, then goes on into the dead connection.
    No clocks: the order is fixed by the two events."""

    def __init__(self, server: SshServer, threshold: int) -> None:
        self.server, self.threshold = server, threshold
        self.reached, self.killed = threading.Event(), threading.Event()
        self.seen = 0  # bytes the transfer reported, all told
        self.thread = threading.Thread(target=self._killer)

    def _killer(self) -> None:
        self.reached.wait()
        try:
            self.server.kill()
        finally:
            self.killed.set()

    def progress(self, done: int, total: int) -> None:
        self.seen = done
        if done >= self.threshold and not self.reached.is_set():
            self.reached.set()
            self.killed.wait()

    def __enter__(self) -> KillMidway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.reached.set()  # the transfer failed before the threshold: let the thread end
        self.thread.join()


def test_unsafe_names_are_refused_before_any_io(sshd: SshServer) -> None:
    box = SftpMailbox.connect(sshd.settings)
    sshd.kill()  # any request now would fail with TransferError: UnsafeName proves none was sent
    try:
        for name in ("../x", "a/b", "..", "a\\b", "x\x00", ""):
            for call in (box.fetch, box.archive, box.exists_outbound, lambda n: box.upload(n, b"data")):
                with pytest.raises(UnsafeName):
                    call(name)
    finally:
        box.close()


def test_an_unknown_host_is_refused_before_login(sshd: SshServer, tmp_path: Path) -> None:
    (sshd.root / "in" / "po.x12").write_bytes(b"ISA")
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line().replace(f"[127.0.0.1]:{sshd.port}", "[127.0.0.1]:2222"))
    with pytest.raises(HostKeyRefused) as caught:
        SftpMailbox.connect(replace(sshd.settings, known_hosts=known))
    message = str(caught.value)
    assert f"127.0.0.1:{sshd.port}" in message
    assert f"ssh-ed25519 {fingerprint(sshd.base / 'host_ed25519.pub')}" in message
    assert "Accepted" not in sshd.log() and "open " not in sshd.log()  # no login, nothing read
    assert (sshd.root / "in" / "po.x12").exists()


def test_a_changed_host_key_is_refused_naming_both_keys(sshd: SshServer) -> None:
    settings = sshd.settings  # pins the first key
    old = fingerprint(sshd.base / "host_ed25519.pub")
    (sshd.root / "in" / "po.x12").write_bytes(b"ISA")
    sshd.restart(new_host_key=True)  # another sshd, another key, same host and port
    new = fingerprint(sshd.base / "host_ed25519.pub")
    assert new != old
    log_before = len(sshd.log())
    with pytest.raises(HostKeyRefused) as caught:
        SftpMailbox.connect(settings)
    message = str(caught.value)
    assert f"127.0.0.1:{sshd.port}" in message and "CHANGED" in message
    assert f"offered ssh-ed25519 {new}" in message and f"pins ssh-ed25519 {old}" in message
    assert "Accepted" not in sshd.log()[log_before:]
    assert (sshd.root / "in" / "po.x12").exists()


def test_hashed_known_hosts_entries_pin_too(sshd: SshServer, tmp_path: Path) -> None:
    name, kind, blob = sshd.known_hosts_line().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"# ssh-keygen -H\n{paramiko.HostKeys.hash_host(name)} {kind} {blob}\n")
    with SftpMailbox.connect(replace(sshd.settings, known_hosts=known)) as box:
        assert box.list_inbound() == []


def test_a_missing_known_hosts_file_refuses(sshd: SshServer, tmp_path: Path) -> None:
    with pytest.raises(HostKeyRefused, match="known_hosts"):
        SftpMailbox.connect(replace(sshd.settings, known_hosts=tmp_path / "nope"))


@pytest.mark.parametrize(("kind", "passphrase", "pem"), [
    ("ed25519", SECRET, False),
    ("rsa", None, False),
    ("rsa", SECRET, True),
    ("ecdsa", SECRET, False),
    ("ecdsa", None, True),
], ids=["ed25519-openssh-passphrase", "rsa-openssh", "rsa-pem-passphrase", "ecdsa-openssh-passphrase", "ecdsa-pem"])
def test_key_logins(sshd: SshServer, tmp_path: Path, kind: str, passphrase: str | None, pem: bool) -> None:
    key = tmp_path / f"id_{kind}"
    sshd.authorize(write_client_key(key, kind, passphrase, pem=pem))
    (sshd.root / "in" / "po.x12").write_bytes(b"ISA")
    with SftpMailbox.connect(replace(sshd.settings, key_file=key, key_passphrase=passphrase)) as box:
        assert box.fetch("po.x12") == b"ISA"


def test_a_key_the_server_does_not_know_is_refused(sshd: SshServer, tmp_path: Path) -> None:
    key = tmp_path / "id_other"
    write_client_key(key, "ed25519", SECRET)
    settings = replace(sshd.settings, key_file=key, key_passphrase=SECRET)
    with pytest.raises(AuthFailed) as caught:
        SftpMailbox.connect(settings)
    assert sshd.user in str(caught.value) and SECRET not in str(caught.value)
    assert SECRET not in repr(settings) and SECRET not in str(settings)


def test_a_wrong_passphrase_is_refused_without_showing_it(sshd: SshServer, tmp_path: Path) -> None:
    key = tmp_path / "id_locked"
    sshd.authorize(write_client_key(key, "ed25519", SECRET))
    for passphrase in ("not it", None):
        with pytest.raises(AuthFailed, match=str(key)) as caught:
            SftpMailbox.connect(replace(sshd.settings, key_file=key, key_passphrase=passphrase))
        assert "not it" not in str(caught.value) and SECRET not in str(caught.value)


def test_a_wrong_password_is_refused_without_showing_it(sshd: SshServer) -> None:
    settings = replace(sshd.settings, key_file=None, password=SECRET)
    with pytest.raises(AuthFailed) as caught:
        SftpMailbox.connect(settings)
    assert "password" in str(caught.value) and SECRET not in str(caught.value)
    chained: BaseException | None = caught.value
    while chained is not None:  # nor in anything it was raised from
        assert SECRET not in str(chained)
        chained = chained.__cause__ or chained.__context__
    assert SECRET not in repr(settings) and "password='***'" in repr(settings)
    assert "Accepted" not in sshd.log()


def test_settings_repr_hides_secrets(tmp_path: Path) -> None:
    settings = SftpSettings(host="h", username="u", password=SECRET, key_file=tmp_path / "k",
                            key_passphrase="also " + SECRET, known_hosts=tmp_path / "kh")
    assert SECRET not in repr(settings) and SECRET not in f"{settings}"
    assert "key_passphrase='***'" in repr(settings) and "host='h'" in repr(settings)
    bare = SftpSettings(host="h", username="u", known_hosts=tmp_path / "kh")
    assert "password=None" in repr(bare)


def test_killed_mid_download_raises_then_the_retry_gets_every_byte(sshd: SshServer) -> None:
    data = os.urandom(BIG)
    (sshd.root / "in" / "846.x12").write_bytes(data)
    box = SftpMailbox.connect(sshd.settings)
    with KillMidway(sshd, KILL_AFTER) as midway, pytest.raises(TransferError, match="846.x12"):
        box.fetch("846.x12", progress=midway.progress)
    assert midway.killed.is_set() and KILL_AFTER <= midway.seen < BIG
    with pytest.raises(TransferError):  # the mailbox closed itself: connect again to retry
        box.list_inbound()
    sshd.restart()
    with SftpMailbox.connect(sshd.settings) as again:
        assert again.fetch("846.x12") == data
        again.archive("846.x12")
    assert (sshd.root / "in" / "archive" / "846.x12").read_bytes() == data


def test_killed_mid_upload_leaves_no_final_file_and_the_retry_leaves_one(sshd: SshServer) -> None:
    data = os.urandom(BIG)
    out = sshd.root / "out"
    box = SftpMailbox.connect(sshd.settings)
    with KillMidway(sshd, KILL_AFTER) as midway, pytest.raises(TransferError, match="846_000000007.x12"):
        box.upload("846_000000007.x12", data, progress=midway.progress)
    box.close()
    assert midway.killed.is_set() and KILL_AFTER <= midway.seen < BIG
    assert [p.name for p in out.iterdir()] == [".846_000000007.x12.part"]  # nothing under the final name
    assert (out / ".846_000000007.x12.part").stat().st_size < BIG
    sshd.restart()
    with SftpMailbox.connect(sshd.settings) as again:
        again.upload("846_000000007.x12", data)
    assert [p.name for p in out.iterdir()] == ["846_000000007.x12"]
    assert (out / "846_000000007.x12").read_bytes() == data


def test_a_hung_server_times_out(sshd: SshServer) -> None:
    sshd.freeze()  # the port still accepts connections; nothing answers
    try:
        with pytest.raises(TransferError, match="handshake"):
            SftpMailbox.connect(replace(sshd.settings, timeout=0.5))
    finally:
        sshd.thaw()


def test_a_server_that_hangs_mid_session_times_out(sshd: SshServer) -> None:
    (sshd.root / "in" / "po.x12").write_bytes(b"ISA")
    with SftpMailbox.connect(replace(sshd.settings, timeout=3)) as box:
        sshd.freeze()
        try:
            with pytest.raises(TransferError):
                box.fetch("po.x12")
        finally:
            sshd.thaw()


def test_an_unreachable_server_is_a_transfer_error(sshd: SshServer) -> None:
    settings = sshd.settings
    sshd.kill()
    with pytest.raises(TransferError, match=f"127.0.0.1:{sshd.port}"):
        SftpMailbox.connect(settings)


def test_each_partner_sees_only_its_own_folder(sshd_factory: SshServers) -> None:
    acme, globex = sshd_factory.start("acme"), sshd_factory.start("globex")
    (acme.root / "in" / "acme.x12").write_bytes(b"A")
    (globex.root / "in" / "globex.x12").write_bytes(b"G")
    with SftpMailbox.connect(acme.settings) as a, SftpMailbox.connect(globex.settings) as g:
        assert [f.name for f in a.list_inbound()] == ["acme.x12"]
        assert [f.name for f in g.list_inbound()] == ["globex.x12"]
        a.upload("997_000000001.x12", b"to acme")
    assert (acme.root / "out" / "997_000000001.x12").read_bytes() == b"to acme"
    assert list((globex.root / "out").iterdir()) == []


def test_loose_permissions(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    write_client_key(key)
    assert loose_permissions(key) is None  # 0600
    key.chmod(0o644)
    warning = loose_permissions(key)
    assert warning is not None and str(key) in warning and "readable" in warning and "chmod 600" in warning
    key.chmod(0o620)
    assert loose_permissions(key) is not None
    known = tmp_path / "known_hosts"
    known.write_text("")
    known.chmod(0o644)
    assert loose_permissions(known, secret=False) is None  # public, but only we may change it
    known.chmod(0o664)
    assert "writable" in (loose_permissions(known, secret=False) or "")
