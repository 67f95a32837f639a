from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from connectors.jsonl import import_jsonl
from store import Store, check
from store.documents import errors_of
from store.inventory import receive
from store.models import Document, Order, OrderLine
from tests.jsonl import order_json, write_jsonl
from tests.store.helpers import count


def _bad_file(tmp_path: Path) -> Path:
    no_lines = order_json(4)
    no_lines["lines"] = []
    zero_qty = order_json(5)
    zero_qty["lines"][1]["qty"] = 0
    wrong_type = order_json(6)
    wrong_type["lines"][0]["qty"] = "two"
    rows: list[object] = [
        order_json(1),
        '{"channel": "web", "external_id": "X1", "currency": "USD", "lines": [{"item": "S1"',  # truncated
        order_json(2),
        "",
        no_lines,
        zero_qty,
        wrong_type,
        "[1, 2, 3]",
        {**order_json(7), "surprise": True},
        {**order_json(8), "channel": "nowhere"},
        order_json(3),
    ]
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    with path.open("ab") as fh:
        fh.write(b'{"channel": "web", "external_id": "\xff\xfe"}\n')
    return path


def test_bad_lines_are_rejected_with_line_numbers_and_good_lines_go_in(catalog: Store, tmp_path: Path) -> None:
    for sku in ("S1", "S2", "S3"):
        receive(catalog, sku, "A", 100)
    result = import_jsonl(catalog, _bad_file(tmp_path))
    assert (result.created, result.state) == (3, "partial")
    by_line = {p.position: p.reason for p in result.problems}
    assert sorted(by_line) == [2, 5, 6, 7, 8, 9, 10, 12]
    assert by_line[2].startswith("not valid JSON")
    assert "lines: List should have at least 1 item" in by_line[5]
    assert "lines.1.qty: Input should be greater than 0" in by_line[6]
    assert "lines.0.qty" in by_line[7]
    assert "expected a JSON object, got list" in by_line[8]
    assert "surprise: Extra inputs are not permitted" in by_line[9]
    assert "unknown channel 'nowhere'" in by_line[10]
    assert "not UTF-8" in by_line[12]
    # Nothing partial: only the three good orders, each with all its lines.
    assert count(catalog, Order) == 3
    assert count(catalog, OrderLine) == 9
    assert check(catalog).ok


def test_file_is_stored_before_parsing_and_its_errors_are_readable(catalog: Store, tmp_path: Path) -> None:
    path = _bad_file(tmp_path)
    result = import_jsonl(catalog, path)
    with catalog.read() as conn:
        doc = conn.execute(select(Document).where(Document.id == result.document_id)).one()
        problems = errors_of(conn, doc.id)
    assert doc.payload == path.read_bytes()
    assert doc.state == "partial"
    assert doc.reject_reason.startswith("8 rejected: line 2: not valid JSON")
    assert [p.position for p in problems] == [2, 5, 6, 7, 8, 9, 10, 12]
    assert problems[0].excerpt and problems[0].excerpt.startswith('{"channel": "web", "external_id": "X1"')


def test_same_file_delivered_again_is_a_no_op(catalog: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [order_json(n) for n in range(5)])
    first = import_jsonl(catalog, path)
    again = import_jsonl(catalog, path)
    assert (first.created, again.duplicate, again.document_id) == (5, True, first.document_id)
    assert count(catalog, Order) == 5
    assert count(catalog, Document) == 1


def test_a_newer_file_updates_orders_instead_of_duplicating(catalog: Store, tmp_path: Path) -> None:
    import_jsonl(catalog, write_jsonl(tmp_path / "v1.jsonl", [order_json(n) for n in range(3)]))
    rows = [order_json(n, version=2) for n in range(3)]
    rows[0]["buyer"] = {"name": "Renamed"}
    result = import_jsonl(catalog, write_jsonl(tmp_path / "v2.jsonl", rows))
    assert (result.created, result.updated) == (0, 3)
    assert count(catalog, Order) == 3


def test_cli_reports_rejects_and_exits_non_zero(catalog: Store, db_url: str, tmp_path: Path) -> None:
    path = _bad_file(tmp_path)
    env = {**os.environ, "OMS_DATABASE_URL": db_url}
    proc = subprocess.run([sys.executable, "-m", "oms", "import", "orders", str(path)], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "3 created" in proc.stdout and "8 rejected" in proc.stdout
    assert "line 2: not valid JSON" in proc.stderr
    again = subprocess.run([sys.executable, "-m", "oms", "import", "orders", str(path)], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "already imported" in again.stdout
    missing = subprocess.run([sys.executable, "-m", "oms", "import", "orders", str(tmp_path / "nope.jsonl")], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    unknown = write_jsonl(tmp_path / "unknown.jsonl", [order_json(90, skus=("S1", "MYSTERY-1"))])
    proc = subprocess.run([sys.executable, "-m", "oms", "import", "orders", str(unknown)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0
    assert "1 order(s) wait in the unknown_item queue" in proc.stdout
