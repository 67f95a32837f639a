"""One pass over an EDI partner's mailbox: each inbound file exactly once, every answer delivered.

    poll_partner(store, spec)    list → fetch → receive_x12 (stored raw, committed) → archive

Order matters for "no PO lost, none doubled": a file is archived (or deleted) at the partner
only after `receive_x12` committed it here. A crash or a dropped connection between the two
leaves the file in the inbox; the next pass fetches it again and the store sees the same bytes
(sha256) as a no-op, then archives it. A file whose name has a path component is refused and
left alone, with an operator alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import HostKeyRefused, TransferError, UnsafeName
from connectors.mailbox import LocalMailbox, Mailbox
from connectors.sftp import SftpMailbox
from edi_maps.inbound import receive_x12
from store import Store
from store.journal import audit

from .errors import SettingsError
from .settings import MailboxSpec

__all__ = ["KeptOpen", "PollReport", "open_mailbox", "poll_partner", "alert"]

log = logging.getLogger("oms.gateway.partner")


@dataclass
class PollReport:
    partner: str
    files: int = 0  # taken in (new documents)
    again: int = 0  # fetched before (a re-delivery or a re-run after a crash): archived only
    orders: int = 0
    refused: list[str] = field(default_factory=list)


def open_mailbox(spec: MailboxSpec) -> Mailbox:
    if spec.transport == "sftp":
        if spec.sftp is None:
            raise SettingsError(f"partner {spec.partner}: sftp mailbox without settings")
        return SftpMailbox.connect(spec.sftp)
    if spec.transport == "folder" and spec.folder is not None:
        return LocalMailbox(spec.folder, inbox=spec.inbox, outbox=spec.outbox, archive=spec.archive)
    raise SettingsError(f"partner {spec.partner}: mailbox transport {spec.transport!r} needs a folder or sftp settings")


def alert(store: Store, partner: str, what: str, detail: str) -> None:
    """An operator alert: an audit event the TUI's gateway screen lists."""
    store.run(lambda conn: audit(conn, "gateway", "partner", None, f"alert.{what}", {"partner": partner, "detail": detail}))


def poll_partner(
    store: Store, spec: MailboxSpec, *, opener: Callable[[MailboxSpec], Any] = open_mailbox, actor: str = "gateway",
    stop: Callable[[], bool] = lambda: False,
) -> PollReport:
    """Take every file in the partner's inbox. Raises MailboxError when the mailbox cannot be
    reached or the connection drops (the caller retries; nothing is lost either way).
    `opener(spec)` gives a context manager yielding the mailbox (a new connection, or a
    `KeptOpen` one)."""
    report = PollReport(spec.partner)
    try:
        with opener(spec) as box:
            _take(store, spec, box, report, actor, stop)
    except HostKeyRefused as exc:  # only connecting raises it
        alert(store, spec.partner, "host_key_refused", str(exc))
        raise
    return report


def _take(store: Store, spec: MailboxSpec, box: Mailbox, report: PollReport, actor: str,
          stop: Callable[[], bool]) -> None:
    for remote in box.list_inbound():
        if stop():  # SIGTERM: the file in hand was finished; the rest waits for the next run
            break
        try:
            data = box.fetch(remote.name)
        except UnsafeName as exc:
            report.refused.append(remote.name)
            alert(store, spec.partner, "unsafe_file_name", str(exc))
            log.warning("refused a file name", extra={"worker": spec.worker, "file": remote.name})
            continue
        source = f"{spec.where()}/{spec.inbox}/{remote.name}"
        result = receive_x12(store, data, source=source, partner=spec.partner, actor=actor)
        if result.duplicate_document:
            report.again += 1
        else:
            report.files += 1
            report.orders += sum(1 for ic in result.interchanges for s in ic.sets if s.status == "ingested")
            log.info("file taken in", extra={"worker": spec.worker, "file": remote.name, "document": result.document_id,
                                             "state": result.state})
        box.archive(remote.name)  # only now: the document is committed


def is_retryable(exc: BaseException) -> bool:
    """A dropped connection or a busy server is worth another try soon; a refused host key, a
    refused login, a refused name or a clash of names needs an operator."""
    return isinstance(exc, TransferError)


class KeptOpen:
    """A mailbox connection kept between passes (an SSH handshake costs more than a poll):
    `with kept as box:` connects when needed, and a pass that ends in an error closes the
    connection so the next pass starts afresh."""

    def __init__(self, spec: MailboxSpec, opener: Callable[[MailboxSpec], Mailbox] = open_mailbox) -> None:
        self.spec, self.opener = spec, opener
        self.box: Mailbox | None = None

    def __call__(self, spec: MailboxSpec) -> KeptOpen:  # usable where an opener is expected
        return self

    def __enter__(self) -> Mailbox:
        if self.box is None:
            self.box = self.opener(self.spec)
        return self.box

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.close()

    def close(self) -> None:
        box, self.box = self.box, None
        if box is not None:
            try:
                box.close()
            except Exception:  # closing a dead connection: nothing more to lose
                pass
