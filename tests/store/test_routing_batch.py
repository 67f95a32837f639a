"""store.routing.batch.route_many: the order list's bulk route, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from store import Store, ingest
from store.holds import hold
from store.catalog import location_id, sku_id
from store.inventory import apply_movement, receive
from store.models import AuditEvent, Order
from store.routing.batch import route_many
from tests.factories import order


def _status(store: Store, oid: int) -> str:
    with store.read() as conn:
        return str(conn.execute(select(Order.status).where(Order.id == oid)).scalar_one())


def test_routes_the_open_units_of_each_order_and_skips_the_others_saying_why(catalog: Store) -> None:
    receive(catalog, "S1", "A", 5)
    report = ingest(catalog, [order("ok", ("S1", 1)), order("bo", ("S2", 2)), order("held", ("S3", 1)),
                              order("unk", ("NOPE", 1)), order("none", ("S4", 1))])
    ids = {o.external_id: o.order_id for o in report.outcomes if o.order_id is not None}
    assert _status(catalog, ids["bo"]) == "backordered"
    hold(catalog, ids["held"], "address check")
    # Stock arrives without filling backorders (a receipt would fill them itself).
    catalog.run(lambda conn: apply_movement(conn, sku_id(conn, "S2"), location_id(conn, "B"), 2, "receipt"))
    results = route_many(catalog, [ids[k] for k in ("ok", "bo", "held", "unk", "none")] + [10**9], actor="ann")
    by = {r.order_id: r for r in results}
    assert by[ids["bo"]].status == "allocated" and by[ids["bo"]].units == 2 and by[ids["bo"]].skipped is None
    assert _status(catalog, ids["bo"]) == "allocated"
    assert "no open units" in (by[ids["ok"]].skipped or "")
    assert "on hold" in (by[ids["held"]].skipped or "")
    assert "unknown item" in (by[ids["unk"]].skipped or "")
    assert "place nothing" in (by[ids["none"]].skipped or "")  # S4: no stock anywhere
    assert by[10**9].skipped == f"no order {10**9}"
    assert _status(catalog, ids["none"]) == "backordered"
    with catalog.read() as conn:
        actors = set(conn.execute(select(AuditEvent.actor).where(
            AuditEvent.entity_id == ids["bo"], AuditEvent.action == "order.routed_by_operator")).scalars())
    assert actors == {"ann"}
