from __future__ import annotations

from sqlalchemy import update

from store import Store, check, ingest
from store.inventory import receive
from store.models import StockLevel
from tests.factories import order


def test_clean_store_checks_ok(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    ingest(catalog, [order("1", ("S1", 3))])
    report = check(catalog)
    assert report.ok
    assert (report.levels, report.movements, report.reservations) == (1, 1, 1)


def test_level_that_disagrees_with_ledger_and_reservations_is_reported(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    ingest(catalog, [order("1", ("S1", 3))])
    # A bug (or a hand edit) changes the level behind the ledger's back.
    with catalog.write() as conn:
        conn.execute(update(StockLevel).values(on_hand=12, reserved=2))
    report = check(catalog)
    kinds = {p.kind for p in report.problems}
    assert kinds == {"on_hand != ledger", "reserved != reservations"}
    text = "\n".join(map(str, report.problems))
    assert "S1 @ A" in text and "level says 12, movements sum to 10" in text
