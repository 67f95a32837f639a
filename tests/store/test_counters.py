from __future__ import annotations

from store import Store
from store.counters import take


def test_counters_count_from_one_and_never_repeat(store: Store) -> None:
    with store.write() as conn:
        assert take(conn, "rma") == [1]
        assert take(conn, "rma", 3) == [2, 3, 4]
        assert take(conn, "sscc") == [1]
    with store.write() as conn:
        assert take(conn, "rma") == [5]


def test_a_rolled_back_transaction_gives_its_numbers_back(store: Store) -> None:
    class Boom(Exception):
        pass

    try:
        with store.write() as conn:
            take(conn, "po", 2)
            raise Boom
    except Boom:
        pass
    with store.write() as conn:
        assert take(conn, "po") == [1]
