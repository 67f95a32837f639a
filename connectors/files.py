"""Moving a taken file aside on this machine, never over another and never the wrong one.

    ident = FileId.of(os.fstat(fh.fileno()))          # what was read
    move_new(path, candidates, expect=ident)           # processed/x.csv, or None: replaced

Used by the local mailbox's archive and by the CSV drop folders. A file is given its new
name with a hard link, which fails on a name already taken where a rename would silently
replace it; the old name is removed only if it still names the file just linked.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple, overload

__all__ = ["FileId", "move_new"]

# A hard link cannot be made here (some network and FUSE file systems, too many links).
_NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


class FileId(NamedTuple):
    """One file's identity and contents' fingerprint: a file renamed over the name has another
    inode, one rewritten in place another size or mtime."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileId:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@overload
def move_new(src: Path, candidates: Iterable[Path]) -> Path: ...
@overload
def move_new(src: Path, candidates: Iterable[Path], *, expect: FileId) -> Path | None: ...
def move_new(src: Path, candidates: Iterable[Path], *, expect: FileId | None = None) -> Path | None:
    """Move `src` to the first of `candidates` that names nothing yet and return it.

    With `expect`: only if `src` is still that file (the bytes that were read and stored); if
    another file has taken the name, or it is gone, nothing moves and the answer is None.
    Without: whatever `src` names moves, and OSError if nothing does.
    """
    for dest in candidates:
        try:
            os.link(src, dest, follow_symlinks=False)
        except FileExistsError:
            continue
        except FileNotFoundError:
            if expect is not None and not os.path.lexists(src):
                return None
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if os.path.lexists(dest):
                continue
            return _rename_checked(src, dest, expect)
        linked = os.lstat(dest)
        if expect is not None and FileId.of(linked) != expect:
            # A new file took the name after it was read: its bytes are not stored yet.
            os.unlink(dest)
            return None
        try:
            now = os.lstat(src)
        except FileNotFoundError:
            return dest
        # Still the file just linked? A file renamed over it meanwhile stays to be taken. (POSIX
        # has no "unlink if still this inode": a rename in the next microsecond can still be lost.)
        if os.path.samestat(now, linked):
            os.unlink(src)
        return dest
    raise ValueError("no candidate name")


def _rename_checked(src: Path, dest: Path, expect: FileId | None) -> Path | None:
    """No hard links here: check, then rename (racy, as any check-then-act; the best there is)."""
    if expect is not None:
        try:
            if FileId.of(os.lstat(src)) != expect:
                return None
        except FileNotFoundError:
            return None
    os.rename(src, dest)
    if expect is not None and FileId.of(os.lstat(dest)) != expect:
        # A newcomer took the name between the check and the rename: put it back to be taken
        # (unless yet another file is there now: then it stays where it went).
        if not os.path.lexists(src):
            os.rename(dest, src)
        return None
    return dest
