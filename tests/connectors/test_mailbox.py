"""The Mailbox protocol, the same on a local folder and on a real OpenSSH SFTP server."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from connectors.errors import MailboxError, NameClash, UnsafeName
from connectors.mailbox import (
    LocalMailbox,
    Mailbox,
    archive_names,
    check_folder,
    check_name,
)
from connectors.sftp import SftpMailbox
from tests.sshd import SshServer, sshd, sshd_factory  # noqa: F401  (fixtures)

UNSAFE = ["../x", "a/b", "..", ".", "a\\b", "x\x00", "", "x\ny", "tab\there", "/etc/passwd", "bell\x07"]


@dataclass
class Partner:
    root: Path  # the partner's folder as files on disk
    open: Callable[..., Mailbox]  # open(archive="in/archive")

    def put(self, name: str, data: bytes, *, mtime: int | None = None) -> Path:
        path = self.root / "in" / name
        path.write_bytes(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path


@pytest.fixture(params=["local", "sftp"])
def partner(request: pytest.FixtureRequest, tmp_path: Path) -> Partner:
    if request.param == "local":
        root = tmp_path / "partner"
        (root / "in").mkdir(parents=True)
        (root / "out").mkdir()

        def open_local(archive: str | None = "in/archive") -> Mailbox:
            return LocalMailbox(root, archive=archive)

        return Partner(root, open_local)
    server: SshServer = request.getfixturevalue("sshd")

    def open_sftp(archive: str | None = "in/archive") -> Mailbox:
        return SftpMailbox.connect(replace(server.settings, archive=archive))

    return Partner(server.root, open_sftp)


def test_lists_oldest_first_and_fetches_whole_files(partner: Partner) -> None:
    partner.put("b.x12", b"second", mtime=1_700_000_100)
    partner.put("c.x12", b"first", mtime=1_700_000_000)
    partner.put("a.x12", b"third" * 1000, mtime=1_700_000_200)
    with partner.open() as box:
        listed = box.list_inbound()
        assert [(f.name, f.size) for f in listed] == [("c.x12", 5), ("b.x12", 6), ("a.x12", 5000)]
        assert listed[0].mtime.tzinfo is not None and listed[0].mtime.timestamp() == 1_700_000_000
        assert box.fetch("a.x12") == b"third" * 1000
        assert box.fetch("b.x12") == b"second"


def test_hidden_temporary_and_folders_are_not_listed(partner: Partner) -> None:
    for name in (".hidden", "po.x12.part", "po.x12.tmp", "po.x12~", "real.x12"):
        partner.put(name, b"x")
    (partner.root / "in" / "sub").mkdir()
    (partner.root / "in" / "archive").mkdir()
    with partner.open() as box:
        assert [f.name for f in box.list_inbound()] == ["real.x12"]


def test_half_uploaded_files_of_common_clients_are_not_listed(partner: Partner) -> None:
    # WinSCP, browsers, editors and Office name a file so while it is being written.
    for name in ("po.x12.filepart", "po.x12.partial", "po.x12.crdownload", "po.x12.temp", "PO.X12.PART",
                 ".po.x12.swp", "~$po.x12", "po.x12"):
        partner.put(name, b"ISA*")
    with partner.open() as box:
        assert [f.name for f in box.list_inbound()] == ["po.x12"]


def test_archive_moves_into_a_folder_it_makes(partner: Partner) -> None:
    partner.put("po.x12", b"ISA*...")
    with partner.open(archive="done/2026") as box:
        box.archive("po.x12")
        assert box.list_inbound() == []
    assert not (partner.root / "in" / "po.x12").exists()
    assert (partner.root / "done" / "2026" / "po.x12").read_bytes() == b"ISA*..."


def test_archive_never_overwrites(partner: Partner) -> None:
    archived = partner.root / "in" / "archive"
    archived.mkdir()
    (archived / "po.x12").write_bytes(b"yesterday")
    with partner.open() as box:
        for n in range(3):  # partners who send the same name every time
            partner.put("po.x12", f"today {n}".encode())
            box.archive("po.x12")
    assert (archived / "po.x12").read_bytes() == b"yesterday"
    kept = {p.read_bytes(): p.name for p in archived.iterdir()}
    assert set(kept) == {b"yesterday", b"today 0", b"today 1", b"today 2"}
    assert all(re.fullmatch(r"po\.\d{8}T\d{6}Z(\.\d+)?\.x12", kept[f"today {n}".encode()]) for n in range(3))


def test_an_archive_folder_removed_while_connected_is_made_again(partner: Partner) -> None:
    archived = partner.root / "in" / "archive"
    with partner.open() as box:
        partner.put("a.x12", b"first")
        box.archive("a.x12")
        shutil.rmtree(archived)  # the partner tidies up between two polls
        partner.put("b.x12", b"second")
        box.archive("b.x12")
        assert box.list_inbound() == []
    assert sorted(p.name for p in archived.iterdir()) == ["b.x12"]
    assert (archived / "b.x12").read_bytes() == b"second"


def test_delete_mode_removes_the_file_and_makes_no_archive(partner: Partner) -> None:
    partner.put("po.x12", b"x")
    with partner.open(archive=None) as box:
        box.archive("po.x12")
        assert box.list_inbound() == []
    assert sorted(p.name for p in (partner.root / "in").iterdir()) == []


def test_archive_of_a_missing_file_is_an_error(partner: Partner) -> None:
    with partner.open() as box, pytest.raises(MailboxError):
        box.archive("gone.x12")


def test_upload_appears_whole_under_its_name(partner: Partner) -> None:
    data = b"ISA*00*" + os.urandom(300_000)
    with partner.open() as box:
        assert not box.exists_outbound("997_000000001.x12")
        box.upload("997_000000001.x12", data)
        assert box.exists_outbound("997_000000001.x12")
    out = partner.root / "out"
    assert [p.name for p in out.iterdir()] == ["997_000000001.x12"]  # no temp left behind
    assert (out / "997_000000001.x12").read_bytes() == data


def test_upload_repeated_with_the_same_bytes_is_a_noop(partner: Partner) -> None:
    final = partner.root / "out" / "855_000000002.x12"
    with partner.open() as box:
        box.upload("855_000000002.x12", b"ack")
    before = final.stat()
    with partner.open() as box:  # a retry after the answer to the rename was lost
        box.upload("855_000000002.x12", b"ack")
    after = final.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert [p.name for p in (partner.root / "out").iterdir()] == ["855_000000002.x12"]


def test_upload_over_a_different_file_is_refused(partner: Partner) -> None:
    (partner.root / "out" / "810_000000003.x12").write_bytes(b"the partner's")
    with partner.open() as box, pytest.raises(NameClash):
        box.upload("810_000000003.x12", b"ours, not the same")
    assert (partner.root / "out" / "810_000000003.x12").read_bytes() == b"the partner's"


def test_a_stale_temp_file_is_overwritten(partner: Partner) -> None:
    (partner.root / "out" / ".856_000000004.x12.part").write_bytes(b"half of a previous try" * 100)
    with partner.open() as box:
        box.upload("856_000000004.x12", b"whole")
    out = partner.root / "out"
    assert [p.name for p in out.iterdir()] == ["856_000000004.x12"]
    assert (out / "856_000000004.x12").read_bytes() == b"whole"


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_are_refused(partner: Partner, name: str) -> None:
    outside = partner.root / "x"
    outside.write_bytes(b"not the partner's inbox")
    (partner.root / "in" / "a").mkdir()
    (partner.root / "in" / "a" / "b").write_bytes(b"in a subfolder")
    with partner.open() as box:
        for call in (box.fetch, box.archive, box.exists_outbound, lambda n: box.upload(n, b"data")):
            with pytest.raises(UnsafeName):
                call(name)
    assert outside.read_bytes() == b"not the partner's inbox"
    assert (partner.root / "in" / "a" / "b").exists()
    assert sorted(p.name for p in (partner.root / "out").iterdir()) == []


def test_a_file_with_a_control_character_is_listed_and_refused(partner: Partner) -> None:
    partner.put("po\x1b[2J.x12", b"x")  # the gateway alerts an operator about it
    with partner.open() as box:
        assert [f.name for f in box.list_inbound()] == ["po\x1b[2J.x12"]
        with pytest.raises(UnsafeName):
            box.fetch("po\x1b[2J.x12")


def test_a_symbolic_link_in_a_shared_folder_is_neither_listed_nor_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not for partners")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "po.x12").symlink_to(secret)
    with LocalMailbox(tmp_path) as box:
        assert box.list_inbound() == []
        with pytest.raises(MailboxError):
            box.fetch("po.x12")


def test_missing_inbox_is_a_mailbox_error(tmp_path: Path) -> None:
    with LocalMailbox(tmp_path / "nowhere") as box, pytest.raises(MailboxError, match="nowhere"):
        box.list_inbound()


@pytest.mark.parametrize("name", ["po.x12", "PO 850 (1).edi", "a..b", "..x", "x..", "ünïcode.x12", "-x", "~x"])
def test_check_name_accepts_bare_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", [*UNSAFE, "x\x7f", "x\x85", "y" * 256])
def test_check_name_refuses_paths_and_control_characters(name: str) -> None:
    with pytest.raises(UnsafeName):
        check_name(name)


@pytest.mark.parametrize(
    ("folder", "normal"), [("in", "in"), ("in/archive/", "in/archive"), (".", "."), ("./out", "out")]
)
def test_check_folder_normalises(folder: str, normal: str) -> None:
    assert check_folder(folder) == normal


@pytest.mark.parametrize("folder", ["/in", "../in", "in/../../x", "in\\x", "in/\x00"])
def test_check_folder_refuses_escapes(folder: str) -> None:
    with pytest.raises(ValueError):
        check_folder(folder)


def test_archive_names_keep_the_extension() -> None:
    when = dt.datetime(2026, 11, 22, 13, 5, 9, tzinfo=dt.UTC)
    names = archive_names("po.x12", when)
    assert [next(names) for _ in range(4)] == [
        "po.x12", "po.20261122T130509Z.x12", "po.20261122T130509Z.1.x12", "po.20261122T130509Z.2.x12"
    ]
    names = archive_names("README", when)
    assert [next(names) for _ in range(3)] == ["README", "README.20261122T130509Z", "README.20261122T130509Z.1"]
