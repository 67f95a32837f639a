from __future__ import annotations

import csv
import io
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import event, select

from connectors.csv_profiles import CsvProfile
from gateway.csv_folder import DropFolder, FileResult, process_file
from store import Store, open_store
from store.documents import errors_of
from store.models import Document, Order, OrderLine
from tests.store.helpers import count, lines_of, order_row

TIMEOUT = 60.0  # generous: only a broken watcher ever waits this long
HEADER = "order_id,sku,qty,unit_price,currency,ship_name,ship_country\r\n"


def rows_csv(rows: list[tuple[str, str, str, str]], *, extra: str = "") -> bytes:
    """A generic-profile file: (order id, sku, qty, unit price) per row."""
    body = "".join(f"{o},{sku},{qty},{price},USD,Ada,US\r\n" for o, sku, qty, price in rows)
    return (HEADER + body + extra).encode()


def read_errors(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


@dataclass
class Watched:
    folder: DropFolder
    results: queue.Queue[FileResult]

    def next(self) -> FileResult:
        return self.results.get(timeout=TIMEOUT)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    path = tmp_path / "drop"
    path.mkdir()
    return path


@pytest.fixture
def watch(catalog: Store, drop: Path) -> Iterator[Callable[..., Watched]]:
    started: list[DropFolder] = []

    def start(settle_seconds: float = 0.2) -> Watched:
        results: queue.Queue[FileResult] = queue.Queue()
        folder = DropFolder(catalog, drop, profile="generic", channel="web", settle_seconds=settle_seconds,
                            on_result=results.put)
        folder.start()
        started.append(folder)
        return Watched(folder, results)

    yield start
    for folder in started:
        folder.stop()


def test_a_dropped_file_becomes_orders_and_moves_to_processed(catalog: Store, drop: Path, watch: Callable[..., Watched]) -> None:
    w = watch()
    data = rows_csv([("W1", "S1", "2", "12.50"), ("W2", "S2", "1", "3"), ("W1", "S3", "1", "1.00")])
    (drop / "orders.csv").write_bytes(data)
    result = w.next()
    assert (result.state, result.created, result.rejected_rows, result.duplicate) == ("accepted", 2, 0, False)
    assert result.moved_to == drop / "processed" / "orders.csv" and result.errors_file is None
    assert not (drop / "orders.csv").exists()
    assert (drop / "processed" / "orders.csv").read_bytes() == data
    w1 = order_row(catalog, "W1")
    assert [(ln.item, ln.qty, ln.unit_price_minor) for ln in lines_of(catalog, w1.id)] == [("S1", 2, 1250), ("S3", 1, 100)]
    with catalog.read() as conn:
        doc = conn.execute(select(Document).where(Document.id == result.document_id)).one()
    assert (doc.kind, doc.source, doc.payload, doc.state) == ("csv", str(drop / "orders.csv"), data, "accepted")
    assert w.folder.pending() == 0


def test_rejected_rows_go_to_the_errors_file_while_the_good_rows_ingest(catalog: Store, drop: Path, watch: Callable[..., Watched]) -> None:
    w = watch()
    data = rows_csv([("G1", "S1", "1", "1"), ("B1", "S1", "1", "1"), ("G2", "S2", "2", "1"), ("B1", "S2", "x", "1"),
                     ("=1+1", "S3", "1", "1.2.3")])
    (drop / "mixed.csv").write_bytes(data)
    result = w.next()
    assert (result.state, result.created, result.rejected_rows) == ("partial", 2, 3)
    assert result.errors_file == drop / "rejected" / "mixed.csv.errors.csv"
    assert read_errors(result.errors_file) == [
        ["line", "reason", "order_id", "sku", "qty", "unit_price", "currency", "ship_name", "ship_country"],
        ["3", "order 'B1' not taken: line 5: quantity 'x' is not a whole number", "B1", "S1", "1", "1", "USD", "Ada", "US"],
        ["5", "quantity 'x' is not a whole number", "B1", "S2", "x", "1", "USD", "Ada", "US"],
        ["6", "unit price '1.2.3' is not a decimal amount (like 12.50)", "'=1+1", "S3", "1", "1.2.3", "USD", "Ada", "US"],
    ]
    assert count(catalog, Order) == 2 and count(catalog, OrderLine) == 2
    with catalog.read() as conn:
        problems = errors_of(conn, result.document_id)
        reason = conn.execute(select(Document.reject_reason).where(Document.id == result.document_id)).scalar_one()
    assert [p.position for p in problems] == [3, 5, 6]
    assert problems[1].excerpt == "B1,S2,x,1,USD,Ada,US"
    assert reason is not None and reason.startswith("3 rejected: line 3: order 'B1' not taken")
    assert (drop / "processed" / "mixed.csv").read_bytes() == data


def test_the_same_file_dropped_again_ingests_nothing(catalog: Store, drop: Path, watch: Callable[..., Watched]) -> None:
    w = watch()
    data = rows_csv([("D1", "S1", "1", "1"), ("D2", "S2", "1", "1")])
    (drop / "orders.csv").write_bytes(data)
    first = w.next()
    (drop / "orders.csv").write_bytes(data)
    again = w.next()
    (drop / "copy.csv").write_bytes(data)
    renamed = w.next()
    assert first.created == 2
    for r in (again, renamed):
        assert (r.duplicate, r.document_id, r.created, r.updated, r.unchanged) == (True, first.document_id, 0, 0, 0)
    assert again.moved_to == drop / "processed" / "orders-2.csv"  # never over the first copy
    assert sorted(p.name for p in (drop / "processed").iterdir()) == ["copy.csv", "orders-2.csv", "orders.csv"]
    assert count(catalog, Order) == 2 and count(catalog, Document) == 1


def test_fifty_files_dropped_at_once_are_all_ingested_exactly_once(catalog: Store, drop: Path, tmp_path: Path,
                                                                   watch: Callable[..., Watched]) -> None:
    w = watch()
    staging = tmp_path / "staging"
    staging.mkdir()
    for n in range(50):
        data = rows_csv([(f"F{n}-a", "S1", "1", "1"), (f"F{n}-b", "S2", "2", "1"), (f"F{n}-a", "S3", "1", "2")])
        if n % 5 == 0:
            (staging / f"f{n:02d}.csv").write_bytes(data)
            os.rename(staging / f"f{n:02d}.csv", drop / f"f{n:02d}.csv")  # moved in whole
        else:
            (drop / f"f{n:02d}.csv").write_bytes(data)
    # A one-off pass (what `oms gateway --once` and the daemon's own pass do) racing the watcher.
    side = threading.Thread(target=w.folder.scan_once)
    side.start()
    results = [w.next() for _ in range(50)]
    side.join()
    assert sorted(r.path.name for r in results) == [f"f{n:02d}.csv" for n in range(50)]
    assert all(r.created == 2 and not r.duplicate for r in results)
    assert count(catalog, Order) == 100 and count(catalog, OrderLine) == 150 and count(catalog, Document) == 50
    assert len(list((drop / "processed").iterdir())) == 50
    assert [p for p in drop.iterdir() if p.is_file()] == []
    assert w.folder.pending() == 0


def test_a_half_written_file_is_read_only_once_it_is_closed(catalog: Store, drop: Path, watch: Callable[..., Watched]) -> None:
    w = watch(settle_seconds=3600)  # only close-after-write or a move-in can make a file complete here
    with (drop / "big.csv").open("wb") as fh:
        fh.write(HEADER.encode() + b"H1,S1,1,1,USD,Ada,US\r\nH1,S2,")
        fh.flush()
        # Another file, dropped after it: once that one is through, the worker has seen both.
        (drop / "later.csv").write_bytes(rows_csv([("L1", "S1", "1", "1")]))
        assert w.next().path == drop / "later.csv"
        assert (drop / "big.csv").exists() and w.folder.pending() == 1
        assert count(catalog, Document) == 1
        fh.write(b"3,4.00,USD,Ada,US\r\n")
    result = w.next()
    assert (result.path, result.created, result.rejected_rows) == (drop / "big.csv", 1, 0)
    h1 = order_row(catalog, "H1")
    assert [(ln.item, ln.qty) for ln in lines_of(catalog, h1.id)] == [("S1", 1), ("S2", 3)]


class _Waiter(logging.Handler):
    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.seen.set()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="writers are found through /proc")
def test_a_file_whose_size_is_steady_waits_while_it_is_open_for_writing(
    catalog: Store, drop: Path, watch: Callable[..., Watched], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="oms.gateway.csv")
    waiter = _Waiter(f"{drop / 'slow.csv'}: size is steady but it is still open for writing")
    logging.getLogger("oms.gateway.csv").addHandler(waiter)
    try:
        w = watch(settle_seconds=0.05)
        with (drop / "slow.csv").open("wb") as fh:
            fh.write(HEADER.encode() + b"P1,S1,")
            fh.flush()
            assert waiter.seen.wait(TIMEOUT)
            assert (drop / "slow.csv").exists() and count(catalog, Document) == 0
            fh.write(b"5,1,USD,Ada,US\r\n")
        result = w.next()
    finally:
        logging.getLogger("oms.gateway.csv").removeHandler(waiter)
    assert (result.path, result.created, result.rejected_rows) == (drop / "slow.csv", 1, 0)
    assert [ln.qty for ln in lines_of(catalog, order_row(catalog, "P1").id)] == [5]


def test_files_there_before_start_are_picked_up_and_others_left_alone(catalog: Store, drop: Path,
                                                                     watch: Callable[..., Watched]) -> None:
    for n in range(3):
        (drop / f"early{n}.csv").write_bytes(rows_csv([(f"E{n}", "S1", "1", "1")]))
    ignored = [".hidden.csv", "upload.csv.part", "upload.csv.filepart", "x.tmp", "backup.csv~", "~$lock.csv", "empty.csv"]
    for name in ignored:
        (drop / name).write_bytes(rows_csv([("IGNORED", "S1", "1", "1")]) if name != "empty.csv" else b"")
    (drop / "archive").mkdir()
    (drop / "archive" / "old.csv").write_bytes(rows_csv([("IGNORED", "S1", "1", "1")]))
    (drop / "link.csv").symlink_to(drop / "archive" / "old.csv")
    w = watch()
    results = [w.next() for _ in range(3)]
    assert sorted(r.path.name for r in results) == ["early0.csv", "early1.csv", "early2.csv"]
    assert count(catalog, Order) == 3
    assert sorted(p.name for p in drop.iterdir()) == sorted([*ignored, "archive", "link.csv", "processed"])
    assert w.folder.pending() == 0


def test_a_file_renamed_into_the_folder_is_processed(catalog: Store, drop: Path, tmp_path: Path,
                                                     watch: Callable[..., Watched]) -> None:
    w = watch(settle_seconds=3600)  # the rename itself says "complete"
    (drop / "inside.csv.part").write_bytes(rows_csv([("R1", "S1", "1", "1")]))
    os.rename(drop / "inside.csv.part", drop / "inside.csv")
    assert w.next().path == drop / "inside.csv"
    (tmp_path / "outside.csv").write_bytes(rows_csv([("R2", "S1", "1", "1")]))
    os.rename(tmp_path / "outside.csv", drop / "outside.csv")
    assert w.next().path == drop / "outside.csv"
    assert count(catalog, Order) == 2 and w.folder.pending() == 0


def test_unknown_skus_go_to_the_unknown_item_queue_not_to_rejected(catalog: Store, drop: Path) -> None:
    (drop / "orders.csv").write_bytes(rows_csv([("U1", "S1", "1", "1"), ("U1", "MYSTERY-9", "2", "1"), ("U2", "S2", "1", "1")]))
    (result,) = DropFolder(catalog, drop, profile="generic", channel="web", settle_seconds=0.05).scan_once()
    assert (result.created, result.unknown_items, result.rejected_rows, result.state) == (2, 1, 0, "accepted")
    assert result.errors_file is None and not (drop / "rejected").exists()
    u1 = order_row(catalog, "U1")
    assert (u1.status, u1.exception) == ("received", "unknown_item")
    assert "'MYSTERY-9' matches no SKU or alias" in u1.exception_detail


def test_orders_the_store_refuses_are_listed_row_by_row(catalog: Store, drop: Path) -> None:
    path = drop / "orders.csv"
    path.write_bytes(rows_csv([("N1", "S1", "1", "1"), ("N1", "S2", "1", "1")]))
    result = process_file(catalog, path, profile="generic", channel="nowhere")
    assert (result.state, result.created, [(r.line_no, r.reason) for r in result.rejects]) == (
        "rejected", 0, [(2, "unknown channel 'nowhere'"), (3, "unknown channel 'nowhere'")])
    assert [row[:3] for row in read_errors(drop / "rejected" / "orders.csv.errors.csv")[1:]] == [
        ["2", "unknown channel 'nowhere'", "N1"], ["3", "unknown channel 'nowhere'", "N1"]]
    assert result.moved_to == drop / "processed" / "orders.csv"


def test_amazon_report_through_process_file(catalog: Store, drop: Path) -> None:
    header = "order-id\torder-item-id\tpurchase-date\tsku\tquantity-purchased\tcurrency\titem-price\trecipient-name\tship-country\r\n"
    path = drop / "report.txt"
    path.write_bytes((header + "111-1\t9001\t2026-11-01T10:00:00+00:00\tS1\t2\tUSD\t20.00\tAda\tUS\r\n"
                      "111-1\t9002\t2026-11-01T10:00:00+00:00\tS2\t1\tUSD\t5.00\tAda\tUS\r\n").encode())
    result = process_file(catalog, path, profile=CsvProfile("amazon"), channel="amz")
    assert (result.created, result.state) == (1, "accepted")
    lines = lines_of(catalog, order_row(catalog, "111-1").id)
    assert [(ln.item, ln.qty, ln.unit_price_minor, ln.line_ref) for ln in lines] == [("S1", 2, 1000, "9001"), ("S2", 1, 500, "9002")]


def test_a_crash_between_commit_and_move_is_finished_as_a_no_op(catalog: Store, drop: Path) -> None:
    path = drop / "orders.csv"
    data = rows_csv([("C1", "S1", "1", "1"), ("C2", "S1", "x", "1")])
    path.write_bytes(data)
    first = process_file(catalog, path, profile="generic", channel="web")
    assert first.errors_file is not None
    errors = first.errors_file.read_bytes()
    # As if the process died after the commit: the file still in the drop folder, no errors file yet.
    first.errors_file.unlink()
    path.write_bytes(data)
    (again,) = DropFolder(catalog, drop, profile="generic", channel="web", settle_seconds=0.05).scan_once()
    assert (again.duplicate, again.document_id, again.created, again.state) == (True, first.document_id, 0, "partial")
    assert [r.line_no for r in again.rejects] == [3]
    assert again.errors_file == drop / "rejected" / "orders.csv.errors.csv"
    assert again.errors_file.read_bytes() == errors
    assert again.moved_to == drop / "processed" / "orders-2.csv"
    assert (drop / "processed" / "orders.csv").read_bytes() == data
    assert count(catalog, Order) == 1 and count(catalog, Document) == 1


@contextmanager
def on_first_commit(store: Store, action: Callable[[], None]) -> Iterator[None]:
    """Run `action` when the store first commits: after the file was read, before it is moved."""
    done = threading.Event()

    def fire(_conn: object) -> None:
        if not done.is_set():
            done.set()
            action()

    event.listen(store.engine, "commit", fire)
    try:
        yield
    finally:
        event.remove(store.engine, "commit", fire)
    assert done.is_set()


@pytest.mark.parametrize("how", ["renamed over it", "rewritten in place"])
def test_a_file_that_changes_while_it_is_taken_stays_and_is_taken_next(catalog: Store, drop: Path, tmp_path: Path,
                                                                       how: str) -> None:
    path = drop / "orders.csv"
    first, second = rows_csv([("X1", "S1", "1", "1")]), rows_csv([("X22", "S2", "2", "1")])
    path.write_bytes(first)

    def partner_drops_again() -> None:  # the same name again: a new file with other orders
        if how == "renamed over it":
            (tmp_path / "upload.tmp").write_bytes(second)
            os.rename(tmp_path / "upload.tmp", path)
        else:
            path.write_bytes(second)

    with on_first_commit(catalog, partner_drops_again):
        result = process_file(catalog, path, profile="generic", channel="web")
    assert (result.created, result.moved_to) == (1, None)
    assert path.read_bytes() == second and not any((drop / "processed").glob("*"))
    (again,) = DropFolder(catalog, drop, profile="generic", channel="web", settle_seconds=0.05).scan_once()
    assert (again.created, again.duplicate, again.moved_to) == (1, False, drop / "processed" / "orders.csv")
    assert (drop / "processed" / "orders.csv").read_bytes() == second and not path.exists()
    with catalog.read() as conn:
        payloads = conn.execute(select(Document.payload).order_by(Document.id)).scalars().all()
    assert payloads == [first, second]  # every byte that left the drop folder is stored
    assert count(catalog, Order) == 2


def test_a_failing_store_leaves_the_file_in_place_to_be_tried_again(
    catalog: Store, drop: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = drop / "orders.csv"
    path.write_bytes(rows_csv([("S-1", "S1", "1", "1")]))
    down = open_store(f"sqlite:///{tmp_path / 'no-such-dir' / 'oms.db'}")  # cannot even open
    failures: list[tuple[Path, Exception]] = []
    try:
        folder = DropFolder(down, drop, profile="generic", channel="web", settle_seconds=0.05,
                            on_error=lambda p, e: failures.append((p, e)))
        with caplog.at_level(logging.ERROR, logger="oms.gateway.csv"):
            assert folder.scan_once() == []
    finally:
        down.dispose()
    assert path.exists() and not (drop / "processed").exists()
    assert [p for p, _ in failures] == [path]
    assert folder.pending() == 1 and folder.last_error is not None
    (record,) = [r for r in caplog.records if r.name == "oms.gateway.csv"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(f"{path}: not processed, left in place; trying again in 5s")
    # The store is back: the next pass takes it.
    (result,) = DropFolder(catalog, drop, profile="generic", channel="web", settle_seconds=0.05).scan_once()
    assert result.created == 1 and not path.exists()
