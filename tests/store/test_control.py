from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from store import Store, StoreError
from store.catalog import add_partner
from store.control import MAX_VALUE, record_interchange, take_control_numbers
from store.models import ControlNumber


@pytest.fixture
def partner(store: Store) -> int:
    return add_partner(
        store, "acme", "ACME", isa_qualifier="ZZ", isa_id="ACME", gs_id="ACME",
        our_isa_qualifier="ZZ", our_isa_id="US", our_gs_id="US",
    )


def test_numbers_start_at_one_and_are_per_partner_and_kind(store: Store, partner: int) -> None:
    other = add_partner(
        store, "beta", "Beta", isa_qualifier="01", isa_id="123456789", gs_id="BETA",
        our_isa_qualifier="ZZ", our_isa_id="US", our_gs_id="US",
    )
    with store.write() as conn:
        assert take_control_numbers(conn, partner, "isa") == [1]
        assert take_control_numbers(conn, partner, "isa", 3) == [2, 3, 4]
        assert take_control_numbers(conn, partner, "st", 2) == [1, 2]
        assert take_control_numbers(conn, other, "isa") == [1]
    with pytest.raises(StoreError, match="kind"):
        with store.write() as conn:
            take_control_numbers(conn, partner, "ta1")


def test_a_rolled_back_transaction_gives_its_numbers_back(store: Store, partner: int) -> None:
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            take_control_numbers(conn, partner, "gs", 5)
            raise RuntimeError("the document failed validation")
    with store.write() as conn:
        assert take_control_numbers(conn, partner, "gs") == [1]


def test_numbers_wrap_after_nine_digits(store: Store, partner: int) -> None:
    with store.write() as conn:
        take_control_numbers(conn, partner, "isa")
        conn.execute(update(ControlNumber).values(next_value=MAX_VALUE))
        assert take_control_numbers(conn, partner, "isa") == [MAX_VALUE]
        assert take_control_numbers(conn, partner, "isa", 2) == [1, 2]


def test_concurrent_writers_never_get_the_same_number(store: Store, partner: int, db_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store.control_worker", db_url, str(partner), "100", str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
        )
        for _ in range(6)
    ]
    go.touch()
    numbers: list[int] = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        numbers += [int(n) for n in out.split()]
    # 6 writers x 100 transactions taking 1, 2 or 3 numbers each: 1,198 numbers, no repeats, no gaps.
    assert len(numbers) == 6 * sum(1 + i % 3 for i in range(100))
    assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_an_interchange_is_recorded_once_per_sender_receiver_and_isa13(store: Store, partner: int) -> None:
    key = dict(direction="in", sender="ZZACME", receiver="ZZUS", control_number="000000905")
    with store.write() as conn:
        first = record_interchange(conn, **key, partner_id=partner)
        assert first is not None
        assert record_interchange(conn, **key, partner_id=partner) is None
        assert record_interchange(conn, **{**key, "sender": "ZZOTHER"}) is not None
        assert record_interchange(conn, **{**key, "direction": "out"}) is not None
