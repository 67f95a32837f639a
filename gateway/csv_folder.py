"""CSV drop folders: files that retailers drop become orders, then move aside.

    <folder>/orders.csv                        dropped (top level only)
    <folder>/processed/orders.csv              moved here once the store has committed it
    <folder>/rejected/orders.csv.errors.csv    the rows not taken: line, reason, the row

`process_file` stores the bytes first (a re-delivered file is the same document, a no-op),
parses them with the folder's profile, ingests the good orders and records the rejects,
and only then moves the file, if it is still the file that was read (a file renamed over
it or rewritten meanwhile stays, to be taken as an arrival of its own). A crash between the
commit and the move leaves the file in place; the next pass finds its document finished
and only moves it.

`DropFolder` watches one folder with watchdog and reads a file only when it is complete:
on close-after-write (inotify IN_CLOSE_WRITE), when it is moved into the folder, or when
its size and mtime have not changed for `settle_seconds` and no process we can see has it
open for writing (that covers copies that send no close event). Empty files, hidden
files, temp names (.part, .filepart, .tmp, ~ ...: `connectors.mailbox.is_transient`),
links and sub-folders are left alone. One worker thread processes files in the order they
arrived; a file that fails (unreadable, store down) is logged on "oms.gateway.csv", stays
where it is and is tried again later.
"""

from __future__ import annotations

import itertools
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from connectors.csv_profiles import CsvProfile, ParsedCsv, RowReject, as_profile, errors_csv, parse
from connectors.errors import SourceError
from connectors.files import FileId, move_new
from connectors.mailbox import is_transient
from store import Store, ingest
from store.documents import FINAL_STATES, DocumentProblem, errors_of, finish, store_payload

__all__ = ["DropFolder", "FileResult", "process_file"]

logger = logging.getLogger("oms.gateway.csv")

PROCESSED = "processed"
REJECTED = "rejected"


@dataclass
class FileResult:
    """What one file became. `duplicate`: these bytes were taken before; nothing ingested."""

    path: Path
    document_id: int
    state: str  # accepted | partial | rejected (the document's)
    duplicate: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    unknown_items: int = 0  # orders waiting in the unknown_item queue
    rejects: list[RowReject] = field(default_factory=list)
    moved_to: Path | None = None
    errors_file: Path | None = None

    @property
    def rejected_rows(self) -> int:
        return len(self.rejects)


def process_file(
    store: Store, path: Path, *, profile: CsvProfile | str, channel: str, actor: str = "csv"
) -> FileResult:
    """Take one complete file: store, parse, ingest, record rejects, then move it aside.

    Raises SourceError if the file cannot be read and lets store errors through; in both
    cases the file is where it was.
    """
    path = Path(path)
    prof = as_profile(profile)
    try:
        with path.open("rb") as fh:
            # Taken before reading: a write during or after the read changes size or mtime.
            read = FileId.of(os.fstat(fh.fileno()))
            data = fh.read()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    doc = store_payload(store, data, kind="csv", source=str(path), actor=actor)
    rejected_dir = path.parent / REJECTED
    errors_name = f"{path.name}.errors.csv"

    if not doc.new and doc.state in FINAL_STATES:
        with store.read() as conn:
            problems = errors_of(conn, doc.id)
        result = FileResult(path, doc.id, doc.state, duplicate=True)
        if problems and not (rejected_dir / errors_name).exists():
            # The first pass committed but stopped before writing this file: its rows again.
            parsed = parse(prof, data, channel=channel)
            rows = parsed.rows
            result.rejects = [RowReject(p.position or 0, p.reason, rows.get(p.position or 0, [])) for p in problems]
            result.errors_file = _write_new(rejected_dir, errors_name, errors_csv(parsed.header, result.rejects))
        else:
            result.rejects = [RowReject(p.position or 0, p.reason, []) for p in problems]
    else:
        parsed = parse(prof, data, channel=channel)
        result = _ingest(store, path, doc.id, parsed, actor)
        if result.rejects:
            result.errors_file = _write_new(rejected_dir, errors_name, errors_csv(parsed.header, result.rejects))
    (path.parent / PROCESSED).mkdir(exist_ok=True)
    moved = move_new(path, _candidates(path.parent / PROCESSED, path.name), expect=read)
    if moved is None:
        # Replaced or rewritten since it was read: those bytes are an arrival of their own.
        logger.warning("%s changed after it was read; the new file is left for the next pass", path)
        return result
    result.moved_to = moved
    return result


def _ingest(store: Store, path: Path, doc_id: int, parsed: ParsedCsv, actor: str) -> FileResult:
    report = ingest(store, parsed.orders, actor=actor, document_id=doc_id)
    result = FileResult(
        path,
        doc_id,
        "received",
        created=report.count("created"),
        updated=report.count("updated"),
        unchanged=report.count("unchanged"),
        conflicts=report.count("conflict"),
        unknown_items=report.unknown_items,
    )
    rejects = list(parsed.rejects)
    for outcome in report.rejected:
        why = outcome.reason or "rejected by the store"
        sources = parsed.sources[parsed.orders[outcome.index].external_id]
        rejects.extend(RowReject(r.line_no, why, r.cells) for r in sources)
    rejects.sort(key=lambda r: r.line_no)
    problems = [DocumentProblem(r.line_no, r.reason, parsed.delimiter.join(r.row)[:200] or None) for r in rejects]
    accepted = len(parsed.orders) - len(report.rejected)
    result.state = finish(store, doc_id, problems=problems, accepted=accepted, actor=actor)
    result.rejects = rejects
    return result


def _candidates(directory: Path, name: str) -> Iterable[Path]:
    """name, then name-2, name-3 ... before the last suffix."""
    yield directory / name
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        stem, dot, suffix = name, "", ""
    for n in itertools.count(2):
        yield directory / f"{stem}-{n}{dot}{suffix}"


def _write_new(directory: Path, name: str, body: bytes) -> Path:
    """Write the whole file under a hidden name first, so nobody sees half of it."""
    directory.mkdir(exist_ok=True)
    tmp = directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_bytes(body)
    try:
        return move_new(tmp, _candidates(directory, name))
    finally:
        tmp.unlink(missing_ok=True)


# --- the folder watcher --------------------------------------------------------------------


class _Stat(NamedTuple):
    ino: int
    size: int
    mtime_ns: int


def _stat(path: Path) -> _Stat | None:
    """A regular file's identity and size, or None (gone, a directory, a link)."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return _Stat(st.st_ino, st.st_size, st.st_mtime_ns)


def _open_for_writing(paths: Iterable[Path]) -> set[Path]:
    """Which of these files a process we may look at holds open for writing (Linux /proc).

    Best effort: other users' processes are invisible without privileges, and elsewhere the
    answer is always "none"; the settle time is then the only guard.
    """
    wanted = {os.path.realpath(p): p for p in paths}
    found: set[Path] = set()
    if not wanted:
        return found
    try:
        pids = [d for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return found
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target not in wanted:
                continue
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    flags = next((int(ln.split()[1], 8) for ln in info if ln.startswith("flags:")), 0)
            except (OSError, ValueError, IndexError):
                continue
            if flags & 3:  # O_WRONLY or O_RDWR
                found.add(wanted[target])
    return found


@dataclass
class _Seen:
    seq: int  # arrival order
    complete: bool = False  # a close-after-write or a move into the folder said so
    stat: _Stat | None = None
    since: float = 0.0  # when `stat` was first seen as it is
    retry_at: float = 0.0
    failures: int = 0
    said_busy: bool = False


class _Events(FileSystemEventHandler):
    def __init__(self, owner: DropFolder) -> None:
        self.owner = owner

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        src = os.fsdecode(event.src_path)
        if isinstance(event, FileMovedEvent):
            self.owner._gone(src)
            dest = os.fsdecode(event.dest_path)
            if dest:
                self.owner._note(dest, complete=True)
        elif isinstance(event, FileClosedEvent):
            self.owner._note(src, complete=True)
        elif isinstance(event, (FileCreatedEvent, FileModifiedEvent)):
            self.owner._note(src, complete=False)
        elif isinstance(event, FileDeletedEvent):
            self.owner._gone(src)


_WATCHED = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileMovedEvent, FileDeletedEvent]


def _new_observer() -> BaseObserver:
    if sys.platform.startswith("linux"):
        from watchdog.observers.inotify import InotifyObserver

        # Full events: a file renamed in from outside the folder arrives as a move (complete),
        # not as a bare create.
        return InotifyObserver(generate_full_events=True)
    return Observer()


class DropFolder:
    """One watched drop folder. `scan_once()` for a single pass (cron, `--once`); `start()`
    and `stop()` to watch. `columns` is the generic profile's column map when `profile` is
    given by name. Results go to `on_result`, failures to `on_error` (and the log), both
    called on the thread that processed the file; both may run at once with `scan_once`."""

    def __init__(
        self,
        store: Store,
        folder: Path,
        *,
        profile: CsvProfile | str,
        channel: str,
        columns: Mapping[str, str] | None = None,
        settle_seconds: float = 1.0,
        actor: str = "csv",
        on_result: Callable[[FileResult], None] | None = None,
        on_error: Callable[[Path, Exception], None] | None = None,
        rescan_seconds: float = 60.0,
        retry_seconds: float = 5.0,
        max_retry_seconds: float = 300.0,
    ) -> None:
        self.store = store
        self.folder = Path(folder).absolute()
        self.profile = as_profile(profile, columns=columns)  # a bad profile fails here, at start-up
        self.channel = channel
        self.settle_seconds = settle_seconds
        self.actor = actor
        self.on_result = on_result
        self.on_error = on_error
        self.rescan_seconds = rescan_seconds
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.last_error: str | None = None
        self._cond = threading.Condition()
        self._pending: dict[Path, _Seen] = {}
        self._dirty = False
        self._seq = itertools.count()
        self._busy = threading.Lock()  # one file at a time, whoever processes it
        self._stopping = threading.Event()
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None

    # --- public -------------------------------------------------------------------------

    def pending(self) -> int:
        """Files in the folder seen and not yet processed (settling, or to be tried again)."""
        with self._cond:
            paths = list(self._pending)
        # A late event may name a file already moved aside; that one is not waiting.
        return sum(1 for p in paths if (s := _stat(p)) is not None and s.size > 0)

    def scan_once(self) -> list[FileResult]:
        """Process every complete file now at the top level; wait up to `settle_seconds`
        once to see which files are still growing (those are left for later)."""
        first = dict(self._listing())
        with self._cond:
            known = {p for p, seen in self._pending.items() if seen.complete}
        if any(p not in known for p in first):
            self._stopping.wait(self.settle_seconds)
        steady = [p for p, s in first.items() if p in known or _stat(p) == s]
        busy = _open_for_writing(p for p in steady if p not in known)
        results = []
        for path in steady:
            if self._stopping.is_set():
                break
            if path in busy:
                logger.info("%s: still open for writing; left for the next pass", path)
                continue
            result = self._process(path)
            if result is not None:
                results.append(result)
        return results

    def start(self) -> None:
        """Watch the folder; files already there are picked up by a rescan straight away."""
        if self._thread is not None:
            raise RuntimeError(f"drop folder {self.folder} is already being watched")
        if not self.folder.is_dir():
            raise SourceError(f"drop folder {self.folder} does not exist")
        self._stopping.clear()
        observer = _new_observer()
        observer.schedule(_Events(self), str(self.folder), recursive=False, event_filter=_WATCHED)
        observer.start()  # before the rescan, so a file arriving during it is not missed
        self._observer = observer
        self._thread = threading.Thread(target=self._run, name=f"csv-folder {self.folder}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop watching; the file in hand is finished first (also in a running `scan_once`)."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
            self._observer = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._stopping.clear()  # a later scan_once() or start() works as before

    def __enter__(self) -> DropFolder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- events (observer thread) -----------------------------------------------------

    def _mine(self, raw: str) -> Path | None:
        path = Path(raw)
        return path if path.parent == self.folder and not is_transient(path.name) else None

    def _note(self, raw: str, *, complete: bool) -> None:
        path = self._mine(raw)
        if path is None:
            return
        with self._cond:
            seen = self._pending.get(path)
            if seen is None:
                seen = self._pending[path] = _Seen(next(self._seq))
            seen.complete = complete
            if not complete:
                seen.stat = None  # written to: it settles from now
            self._dirty = True
            self._cond.notify_all()

    def _gone(self, raw: str) -> None:
        path = self._mine(raw)
        if path is None:
            return
        with self._cond:
            self._pending.pop(path, None)

    # --- the worker -----------------------------------------------------------------------

    def _listing(self) -> list[tuple[Path, _Stat]]:
        """Eligible files at the top level with what they look like now, oldest first."""
        try:
            entries = list(os.scandir(self.folder))
        except OSError as exc:
            logger.error("cannot list drop folder %s: %s", self.folder, exc.strerror or exc)
            return []
        found = []
        for entry in entries:
            if is_transient(entry.name):
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    if st.st_size > 0:
                        found.append((entry.name, _Stat(st.st_ino, st.st_size, st.st_mtime_ns)))
            except OSError:
                continue
        found.sort(key=lambda f: (f[1].mtime_ns, f[0]))
        return [(self.folder / name, st) for name, st in found]

    def _rescan(self) -> None:
        listing = self._listing()
        with self._cond:
            for path, _ in listing:
                if path not in self._pending:
                    self._pending[path] = _Seen(next(self._seq))

    def _due(self) -> tuple[list[Path], float]:
        """Files ready now, in arrival order, and how long to sleep if there are none."""
        now = time.monotonic()
        wait = self.rescan_seconds
        ready: list[tuple[int, Path]] = []
        settled: list[tuple[int, Path]] = []
        with self._cond:
            for path, seen in list(self._pending.items()):
                if seen.retry_at > now:
                    wait = min(wait, seen.retry_at - now)
                    continue
                st = _stat(path)
                if st is None or st.size == 0:
                    # Gone, or nothing in it yet: a write or a rescan brings it back.
                    del self._pending[path]
                    continue
                if seen.complete:
                    ready.append((seen.seq, path))
                elif st != seen.stat:
                    seen.stat, seen.since = st, now
                    wait = min(wait, self.settle_seconds)
                elif now - seen.since >= self.settle_seconds:
                    settled.append((seen.seq, path))
                else:
                    wait = min(wait, seen.since + self.settle_seconds - now)
        if settled:
            busy = _open_for_writing(p for _, p in settled)
            with self._cond:
                for seq, path in settled:
                    seen_now = self._pending.get(path)
                    if seen_now is None:
                        continue
                    if path in busy:
                        if not seen_now.said_busy:
                            logger.debug("%s: size is steady but it is still open for writing; waiting", path)
                            seen_now.said_busy = True
                        wait = min(wait, self.settle_seconds)
                    else:
                        ready.append((seq, path))
        ready.sort()
        return [p for _, p in ready], max(wait, 0.01)

    def _run(self) -> None:
        next_rescan = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_rescan:
                    self._rescan()  # at start: what arrived while we were down; later: missed events
                    next_rescan = time.monotonic() + self.rescan_seconds
                due, wait = self._due()
                for path in due:
                    if self._stopping.is_set():
                        return
                    self._process(path)
                if due:
                    continue
                with self._cond:
                    if not self._dirty and not self._stopping.is_set():
                        self._cond.wait(min(wait, max(0.01, next_rescan - time.monotonic())))
                    self._dirty = False
            except Exception:  # the watcher must outlive any one surprise
                logger.exception("drop folder %s: worker error", self.folder)
                self._stopping.wait(1.0)

    def _process(self, path: Path) -> FileResult | None:
        with self._busy:
            if _stat(path) is None:
                with self._cond:
                    self._pending.pop(path, None)
                return None  # already taken (by another pass) or removed
            try:
                result = process_file(self.store, path, profile=self.profile, channel=self.channel, actor=self.actor)
            except Exception as exc:
                self._failed(path, exc)
                return None
        with self._cond:
            self._pending.pop(path, None)
            if not any(seen.failures for seen in self._pending.values()):
                self.last_error = None
        logger.info(
            "%s: document %d %s%s, %d created, %d updated, %d unchanged, %d row(s) rejected",
            path.name, result.document_id, result.state, " (already taken)" if result.duplicate else "",
            result.created, result.updated, result.unchanged, result.rejected_rows,
        )
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:
                logger.exception("drop folder %s: on_result failed for %s", self.folder, path)
        return result

    def _failed(self, path: Path, exc: Exception) -> None:
        now = time.monotonic()
        with self._cond:
            seen = self._pending.get(path)
            if seen is None:
                seen = self._pending[path] = _Seen(next(self._seq))
            seen.failures += 1
            delay = min(self.max_retry_seconds, self.retry_seconds * 2 ** (seen.failures - 1))
            seen.retry_at = now + delay
        self.last_error = f"{path.name}: {exc}"
        expected = isinstance(exc, (OSError, SourceError)) or type(exc).__module__.startswith(("store", "sqlalchemy"))
        logger.error(
            "%s: not processed, left in place; trying again in %.0fs: %s", path, delay, exc,
            exc_info=None if expected else exc,
        )
        if self.on_error is not None:
            try:
                self.on_error(path, exc)
            except Exception:
                logger.exception("drop folder %s: on_error failed for %s", self.folder, path)
