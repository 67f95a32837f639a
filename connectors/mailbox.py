"""A trading partner's mailbox: the files they left for us, and a place to leave ours.

    Mailbox (Protocol)   list_inbound · fetch · archive · upload · exists_outbound · close
    ├── LocalMailbox     a folder on this machine (`oms demo`, partners who share a folder)
    └── SftpMailbox      the partner's SFTP server (connectors.sftp)

The gateway drives it: list → fetch → store the bytes and commit → only then archive (or
delete) at the partner. Outbound files go up under a hidden temporary name and are renamed
when whole, so a partner never picks up half a file; an upload of a name that already holds
the same bytes is a no-op, so a retry after a lost connection neither fails nor duplicates.

Every method takes a bare file name and refuses one with a path component (`UnsafeName`)
before touching anything. Hidden, lock and temporary names (".x", "~x", "x.part",
"x.filepart", "x.tmp", "x~" ...: `is_transient`) are files still being written: they are
never listed. The CSV drop folders skip the same names.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from .errors import MailboxError, NameClash, TransferError, UnsafeName
from .files import move_new

__all__ = [
    "LocalMailbox",
    "Mailbox",
    "Progress",
    "RemoteFile",
    "archive_names",
    "check_folder",
    "check_name",
    "is_transient",
    "remote_path",
    "temp_name",
]

# Called with (bytes done, bytes expected) after each block, for logs and heartbeats.
Progress = Callable[[int, int], None]

# What uploaders (ours, WinSCP, FileZilla, browsers, editors) name a file while writing it.
_TEMP_SUFFIXES = (".part", ".partial", ".filepart", ".tmp", ".temp", ".crdownload", ".swp", "~")
_MAX_NAME = 255  # bytes, as on every common filesystem


@dataclass(frozen=True, slots=True)
class RemoteFile:
    name: str
    size: int
    mtime: dt.datetime  # UTC


class Mailbox(Protocol):
    def list_inbound(self) -> list[RemoteFile]:
        """Regular files in the inbox, oldest first; hidden and temporary names left out."""
        ...

    def fetch(self, name: str) -> bytes:
        """The whole file, or an error: never part of it."""
        ...

    def archive(self, name: str) -> None:
        """Move an inbound file into the archive folder (never over another), or delete it."""
        ...

    def upload(self, name: str, data: bytes) -> None:
        """Leave a file in the outbox, whole or not at all; a repeat with the same bytes is a no-op."""
        ...

    def exists_outbound(self, name: str) -> bool: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def check_name(name: str) -> str:
    """`name` if it is a bare file name, else UnsafeName: a partner's "../x" must not reach a
    path outside its folder, and control characters have no business in a file name."""
    if not name:
        raise UnsafeName("empty file name")
    if name in (".", ".."):
        raise UnsafeName(f"file name {name!r} is a directory reference")
    if "/" in name or "\\" in name:
        raise UnsafeName(f"file name {name!r} has a path separator")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise UnsafeName(f"file name {name!r} has a control character")
    if len(name.encode("utf-8", "surrogateescape")) > _MAX_NAME:
        raise UnsafeName(f"file name {name[:40]!r}... is longer than {_MAX_NAME} bytes")
    return name


def check_folder(folder: str) -> str:
    """A mailbox folder setting ("in", "in/archive", "." for the start folder), normalised
    without a trailing slash; ValueError if absolute or climbing out with "..": every remote
    path stays under the login's start folder."""
    parts = [p for p in folder.split("/") if p not in ("", ".")]
    if folder.startswith("/") or "\\" in folder or any(p == ".." for p in parts):
        raise ValueError(f"mailbox folder {folder!r} must be relative, without '..'")
    for p in parts:
        try:
            check_name(p)
        except UnsafeName as exc:
            raise ValueError(f"mailbox folder {folder!r}: {exc}") from None
    return "/".join(parts) or "."


def is_transient(name: str) -> bool:
    """Hidden, a lock file or a temporary name: a file someone is still writing (ours or the
    partner's), never one to take."""
    return name.startswith((".", "~")) or name.lower().endswith(_TEMP_SUFFIXES)


def temp_name(name: str) -> str:
    """The name an upload is written under before its rename: hidden and ".part"."""
    return f".{name}.part"


def archive_names(name: str, when: dt.datetime | None = None) -> Iterator[str]:
    """`name`, then `stem.<UTC time>.ext`, then `stem.<UTC time>.1.ext`, ...: the archive never
    overwrites a file. Many partners send the same name every time ("ORDERS.EDI"), so a clash
    is common: the time keeps the next free name one try away, however full the archive."""
    yield name
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension (or a leading dot only)
        stem, dot, ext = name, "", ""
    stamp = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    yield f"{stem}.{stamp}{dot}{ext}"
    n = 1
    while True:
        yield f"{stem}.{stamp}.{n}{dot}{ext}"
        n += 1


def remote_path(folder: str, name: str) -> str:
    """A path below the start folder, "/"-separated as SFTP wants it."""
    return name if folder == "." else f"{folder}/{name}"


class LocalMailbox:
    """A mailbox on a local folder: `root/inbox`, `root/outbox`, `root/archive` (None: delete
    taken files). The inbox and outbox belong to the partner and must exist; the archive
    folder is made on first use. Symbolic links are neither listed nor followed."""

    def __init__(self, root: Path, inbox: str = "in", outbox: str = "out", archive: str | None = "in/archive") -> None:
        self.root = Path(root)
        self.inbox = check_folder(inbox)
        self.outbox = check_folder(outbox)
        self.archive_folder = None if archive is None else check_folder(archive)

    def __repr__(self) -> str:
        return (
            f"LocalMailbox({str(self.root)!r}, inbox={self.inbox!r}, outbox={self.outbox!r}, "
            f"archive={self.archive_folder!r})"
        )

    def _path(self, folder: str, name: str) -> Path:
        return self.root / remote_path(folder, check_name(name))

    def list_inbound(self) -> list[RemoteFile]:
        folder = self.root / self.inbox
        found: list[RemoteFile] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if is_transient(entry.name) or not entry.is_file(follow_symlinks=False):
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:  # taken away while we looked
                        continue
                    found.append(RemoteFile(entry.name, st.st_size, _utc(st.st_mtime)))
        except OSError as exc:
            raise _local_error(f"list {folder}", exc) from None
        found.sort(key=lambda f: (f.mtime, f.name))
        return found

    def fetch(self, name: str, *, progress: Progress | None = None) -> bytes:
        path = self._path(self.inbox, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise _local_error(f"fetch {path}", exc) from None
        with os.fdopen(fd, "rb") as fh:
            try:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise MailboxError(f"fetch {path}: not a regular file")
                chunks: list[bytes] = []
                done = 0
                while block := fh.read(_BLOCK):
                    chunks.append(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, st.st_size)
            except OSError as exc:
                raise _local_error(f"fetch {path}", exc) from None
        if done != st.st_size:
            raise TransferError(f"fetch {path}: read {done} bytes of {st.st_size} (the file changed while read)")
        return b"".join(chunks)

    def archive(self, name: str) -> None:
        src = self._path(self.inbox, name)
        try:
            if self.archive_folder is None:
                src.unlink()
                return
            folder = self.root / self.archive_folder
            folder.mkdir(parents=True, exist_ok=True)
            move_new(src, (folder / candidate for candidate in archive_names(name)))
        except OSError as exc:
            raise _local_error(f"archive {src}", exc) from None

    def upload(self, name: str, data: bytes, *, progress: Progress | None = None) -> None:
        final = self._path(self.outbox, name)
        temp = self._path(self.outbox, temp_name(name))
        try:
            if _same_file(final, data):
                return
            with temp.open("wb") as fh:
                for start in range(0, len(data), _BLOCK):
                    fh.write(data[start : start + _BLOCK])
                    if progress is not None:
                        progress(min(start + _BLOCK, len(data)), len(data))
                fh.flush()
                os.fsync(fh.fileno())
            if (size := temp.stat().st_size) != len(data):
                raise TransferError(f"upload {temp}: wrote {size} bytes of {len(data)}")
            os.replace(temp, final)
            _fsync_dir(final.parent)
        except OSError as exc:
            raise _local_error(f"upload {final}", exc) from None

    def exists_outbound(self, name: str) -> bool:
        return os.path.lexists(self._path(self.outbox, name))

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


_BLOCK = 256 * 1024  # bytes between progress calls (here and in connectors.sftp)


def _utc(timestamp: float | None) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp or 0, tz=dt.UTC)


def _local_error(what: str, exc: OSError) -> MailboxError:
    return MailboxError(f"{what}: {exc.strerror or exc}")


def _same_file(final: Path, data: bytes) -> bool:
    """True if `final` already holds `data`; NameClash if it holds something else."""
    try:
        st = final.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISREG(st.st_mode) and st.st_size == len(data) and final.read_bytes() == data:
        return True
    raise NameClash(f"upload {final}: a different file of that name is already there")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not supported here (Windows): the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
