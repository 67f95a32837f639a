"""Shipping from a location: cartons with SSCC-18 labels, partial shipments that split a
reservation, and the shipments a warehouse lead must not be able to make."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from store import Store, check, ingest
from store.errors import ShippingError
from store.fulfilment import ship_reserved
from store.holds import hold
from store.inventory import receive
from store.models import Carton, Order, OrderLine, OutboxMessage, Reservation, Shipment, ShipmentLine, StockMovement
from store.shipping import Pack, ship
from store.sscc import is_valid_sscc
from tests.factories import order
from tests.store.helpers import count, level, lines_of, order_row

PREFIX = "0614141"
GS1: dict[str, Any] = {"gs1_company_prefix": PREFIX, "sscc_extension": 3}


@pytest.fixture
def placed(catalog: Store) -> Store:
    """Order 1: S1 x4 and S2 x3, both reserved at A in one reservation row each."""
    receive(catalog, "S1", "A", 10)
    receive(catalog, "S2", "A", 10)
    ingest(catalog, [order("1", ("S1", 4), ("S2", 3))])
    return catalog


def _oid(store: Store, external_id: str = "1") -> int:
    return int(order_row(store, external_id).id)


def _reservations(store: Store, sku_line: int) -> list[tuple[str, int]]:
    with store.read() as conn:
        rows = conn.execute(
            select(Reservation.state, Reservation.qty).join(OrderLine, OrderLine.id == Reservation.line_id)
            .where(OrderLine.line_no == sku_line).order_by(Reservation.state, Reservation.qty)
        ).all()
    return [(r.state, r.qty) for r in rows]


def test_a_partial_shipment_splits_the_reservation_and_the_rest_ships_later(placed: Store) -> None:
    oid = _oid(placed)
    first = ship(placed, oid, "A", carrier="UPS", tracking="1ZPART1", lines={1: 1})
    assert first.lines == ((1, 1),) and first.order_status == "partially_shipped"
    # The shipped unit is a consumed row of its own; the other three stay promised to the line.
    assert _reservations(placed, 1) == [("active", 3), ("consumed", 1)]
    assert level(placed, "S1", "A") == (9, 3)
    assert [(ln.qty_shipped, ln.qty_reserved) for ln in lines_of(placed, oid)] == [(1, 3), (0, 3)]
    assert order_row(placed, "1").status == "partially_shipped"
    assert check(placed).ok

    rest = ship(placed, oid, "A", carrier="UPS", tracking="1ZPART2")  # no lines: everything left at A
    assert rest.lines == ((1, 3), (2, 3)) and rest.order_status == "shipped"
    assert _reservations(placed, 1) == [("consumed", 1), ("consumed", 3)]
    assert level(placed, "S1", "A") == (6, 0) and level(placed, "S2", "A") == (7, 0)
    with placed.read() as conn:
        moved = conn.execute(select(StockMovement.qty, StockMovement.reference).where(StockMovement.kind == "shipment")
                             .order_by(StockMovement.id)).all()
    assert [tuple(m) for m in moved] == [(-1, f"shipment {first.shipment_id}"), (-3, f"shipment {rest.shipment_id}"),
                                         (-3, f"shipment {rest.shipment_id}")]
    assert check(placed).ok


def test_cartons_get_distinct_valid_ssccs_and_hold_what_the_packer_put_in(placed: Store) -> None:
    oid = _oid(placed)
    done = ship(placed, oid, "A", carrier="UPS", tracking="1ZMASTER", service="GROUND", cost_minor=1899,
                cartons=[Pack(lines={1: 2}, tracking="1ZBOX1", weight_grams=1200),
                         Pack(skus={"S1": 2, "S2": 1}),
                         Pack()],  # the rest: S2 x2
                **GS1)
    ssccs = [c.sscc for c in done.cartons]
    assert len(set(ssccs)) == 3 and all(is_valid_sscc(s) for s in ssccs)
    assert all(s.startswith("3" + PREFIX) for s in ssccs)  # extension digit, then the company prefix
    assert [c.lines for c in done.cartons] == [((1, 2),), ((1, 2), (2, 1)), ((2, 2),)]
    assert [c.tracking for c in done.cartons] == ["1ZBOX1", None, None]
    with placed.read() as conn:
        stored = conn.execute(
            select(Carton.sscc, Carton.tracking, Carton.weight_grams, OrderLine.line_no, ShipmentLine.qty)
            .join(ShipmentLine, ShipmentLine.carton_id == Carton.id).join(OrderLine, OrderLine.id == ShipmentLine.line_id)
            .order_by(Carton.id, OrderLine.line_no)).all()
        shipment = conn.execute(select(Shipment).where(Shipment.id == done.shipment_id)).one()
        [payload] = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "shipment_confirm")).scalars()
    assert [tuple(r) for r in stored] == [
        (ssccs[0], "1ZBOX1", 1200, 1, 2), (ssccs[1], None, None, 1, 2), (ssccs[1], None, None, 2, 1),
        (ssccs[2], None, None, 2, 2),
    ]
    assert (shipment.carrier, shipment.service, shipment.tracking, shipment.cost_minor) == ("UPS", "GROUND", "1ZMASTER", 1899)
    assert payload["tracking"] == "1ZMASTER" and payload["cartons"] == [
        {"sscc": ssccs[0], "tracking": "1ZBOX1"}, {"sscc": ssccs[1], "tracking": None}, {"sscc": ssccs[2], "tracking": None}]
    # Each line names its item and SKU, for a marketplace connector to confirm by.
    assert payload["lines"] == [{"line_no": 1, "line_ref": None, "item": "S1", "sku": "S1", "qty": 4},
                                {"line_no": 2, "line_ref": None, "item": "S2", "sku": "S2", "qty": 3}]
    assert payload["shipped_at"]
    assert order_row(placed, "1").status == "shipped"

    # The next shipment's cartons continue the serials: no label is ever printed twice.
    ingest(placed, [order("2", ("S1", 1))])
    again = ship(placed, _oid(placed, "2"), "A", carrier="UPS", tracking="1ZNEXT", cartons=[Pack()], **GS1)
    assert again.cartons[0].sscc not in ssccs and is_valid_sscc(again.cartons[0].sscc)
    assert check(placed).ok


def _hold(store: Store, oid: int) -> None:
    hold(store, oid, "card declined twice", "fraud")


def _no_prefix(store: Store, oid: int) -> None:
    pass


REFUSED: list[tuple[str, dict[str, Any], Callable[[Store, int], None], str]] = [
    ("no tracking", {"tracking": ""}, _no_prefix, "needs a tracking number"),
    ("blank tracking", {"tracking": "   "}, _no_prefix, "never marked shipped without one"),
    ("no carrier", {"carrier": " "}, _no_prefix, "needs a carrier"),
    ("a tracking number too long to keep", {"tracking": "1Z" * 70}, _no_prefix, "longer than 128 characters"),
    ("more than reserved", {"lines": {1: 5}}, _no_prefix, r"line 1 \(S1\): 5 units asked, 4 reserved at A"),
    ("a line not on the order", {"lines": {9: 1}}, _no_prefix, r"has no line 9 \(its lines: 1, 2\)"),
    ("a SKU not on the order", {"cartons": [Pack(skus={"S3": 1})], **GS1}, _no_prefix, "no line for SKU S3"),
    ("more of a SKU than reserved", {"cartons": [Pack(skus={"S2": 4})], **GS1}, _no_prefix,
     "4 x S2 asked, 3 reserved for it at A"),
    ("two cartons with the same units", {"cartons": [Pack(lines={1: 3}), Pack(lines={1: 2})], **GS1}, _no_prefix,
     "carton 2: line 1 .*3 of them already in other cartons"),
    ("two cartons taking the rest", {"cartons": [Pack(), Pack()], **GS1}, _no_prefix, "only one carton"),
    ("cartons without a GS1 prefix", {"cartons": [Pack()]}, _no_prefix, r"gs1_company_prefix.*\[shipping\]"),
    ("from where nothing is reserved", {"location": "B"}, _no_prefix, "no units are reserved for it at B"),
    ("an order on hold", {}, _hold, r"on hold \(fraud: card declined twice\); release the hold"),
]


@pytest.mark.parametrize(("case", "kw", "before", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_shipment_that_cannot_be_made_is_refused_and_changes_nothing(
    placed: Store, case: str, kw: dict[str, Any], before: Callable[[Store, int], None], message: str
) -> None:
    oid = _oid(placed)
    before(placed, oid)
    status = order_row(placed, "1").status
    args: dict[str, Any] = {"carrier": "UPS", "tracking": "1Z1", **kw}
    location = args.pop("location", "A")
    with pytest.raises(ShippingError, match=message):
        ship(placed, oid, location, **args)
    assert order_row(placed, "1").status == status
    assert level(placed, "S1", "A") == (10, 4) and level(placed, "S2", "A") == (10, 3)
    assert count(placed, Shipment) == count(placed, Carton) == 0
    assert count(placed, OutboxMessage, OutboxMessage.kind == "shipment_confirm") == 0
    assert _reservations(placed, 1) == [("active", 4)]


def test_ship_reserved_without_a_tracking_number_is_refused(placed: Store) -> None:
    with pytest.raises(ShippingError, match="needs a tracking number"):
        ship_reserved(placed, _oid(placed), carrier="UPS", tracking="")
    assert order_row(placed, "1").status == "allocated"


def test_a_pickup_order_is_not_shipped(placed: Store) -> None:
    oid = _oid(placed)
    with placed.write() as conn:  # what routing records for a click-and-collect order
        conn.execute(update(Order).where(Order.id == oid).values(fulfilment="pickup"))
    with pytest.raises(ShippingError, match="for pick-up in store"):
        ship(placed, oid, "A", carrier="UPS", tracking="1Z1")


def test_a_split_order_ships_from_each_location_on_its_own(catalog: Store) -> None:
    receive(catalog, "S1", "A", 5)
    receive(catalog, "S2", "B", 5)
    ingest(catalog, [order("9", ("S1", 2), ("S2", 2))])
    oid = _oid(catalog, "9")
    at_b = ship(catalog, oid, "B", carrier="FDEG", tracking="7700")
    assert at_b.lines == ((2, 2),) and at_b.order_status == "partially_shipped"
    with pytest.raises(ShippingError, match=r"line 1 \(S1\): 2 units asked, 0 reserved at B"):
        ship(catalog, oid, "B", carrier="FDEG", tracking="7701", lines={1: 2})
    assert ship(catalog, oid, "A", carrier="UPS", tracking="1Z2").order_status == "shipped"
    assert check(catalog).ok


@pytest.mark.parametrize("tracking, carton_tracking", [
    ("1Z" + "9" * 40, None),         # REF*CN holds 30
    ("1Z999AA10123456784", "TRK*1"),  # "*" is the partner's element separator
])
def test_an_edi_partner_order_refuses_a_tracking_number_its_856_cannot_carry(
    catalog: Store, tracking: str, carton_tracking: str | None
) -> None:
    from store.catalog import add_partner

    add_partner(catalog, "acme", "ACME Retail", isa_qualifier="ZZ", isa_id="ACME", gs_id="ACME",
                our_isa_qualifier="ZZ", our_isa_id="US", our_gs_id="US")
    receive(catalog, "S1", "A", 5)
    oid = ingest(catalog, [order("PO-1", ("S1", 2), channel="acme")]).outcomes[0].order_id
    assert oid is not None
    cartons = [Pack(tracking=carton_tracking)] if carton_tracking else []
    with pytest.raises(ShippingError, match="cannot go in the partner's 856"):
        ship(catalog, oid, "A", carrier="UPS", tracking=tracking, cartons=cartons, gs1_company_prefix="0614141")
    assert order_row(catalog, "PO-1").status == "allocated"
    assert count(catalog, Shipment) == 0
    ship(catalog, oid, "A", carrier="UPS", tracking="1Z999AA10123456784")  # one the 856 can carry ships
    assert order_row(catalog, "PO-1").status == "shipped"
