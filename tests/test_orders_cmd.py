"""`oms ship | hold | release | cancel | pickup` as an operator types them, against a real store
on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from oms.cli import cli
from store import Store, ingest
from store.catalog import location_id
from store.inventory import receive
from store.models import AuditEvent, Carton, Order, OrderLine, Shipment
from store.sscc import is_valid_sscc
from tests.factories import order
from tests.store.helpers import level, order_row


@pytest.fixture
def shop(catalog: Store) -> Store:
    """PO-1 (S1 x4, S2 x2) on web and W-2 (S1 x1) on web and on amz, all reserved at A."""
    receive(catalog, "S1", "A", 20)
    receive(catalog, "S2", "A", 20)
    ingest(catalog, [order("PO-1", ("S1", 4), ("S2", 2)), order("W-2", ("S1", 1)),
                     order("W-2", ("S1", 1), channel="amz")])
    return catalog


@pytest.fixture
def oms(db_url: str, tmp_path: Path) -> Any:
    config = tmp_path / "oms.toml"
    config.write_text('[shipping]\ngs1_company_prefix = "0614141"\nsscc_extension = 1\n')

    def run(*args: str, toml: str | None = None) -> Result:
        if toml is not None:
            config.write_text(toml)
        env = {"OMS_HOME": str(tmp_path), "OMS_CONFIG": str(config), "USER": "maria", "OMS_DATABASE_URL": None}
        return CliRunner().invoke(cli, ["--database", db_url, *args], env=env, catch_exceptions=False)

    return run


def test_ship_in_cartons_prints_each_label_and_the_store_keeps_them(shop: Store, oms: Any) -> None:
    result = oms("ship", "PO-1", "--location", "A", "--carrier", "UPS", "--tracking", "1ZMASTER", "--cost", "12.50",
                 "--carton", "S1:3@1ZBOX1", "--carton", "S1:1,S2:2")
    assert result.exit_code == 0, result.output
    assert "order PO-1: shipment" in result.stdout and "6 units, UPS 1ZMASTER; the order is shipped" in result.stdout
    with shop.read() as conn:
        cartons = conn.execute(select(Carton.sscc, Carton.tracking).order_by(Carton.id)).all()
        cost = conn.execute(select(Shipment.cost_minor)).scalar_one()
    assert [c.tracking for c in cartons] == ["1ZBOX1", None] and cost == 1250
    assert all(is_valid_sscc(c.sscc) and c.sscc.startswith("10614141") for c in cartons)
    assert f"carton {cartons[0].sscc}: line 1 S1 x3  tracking 1ZBOX1" in result.stdout
    assert f"carton {cartons[1].sscc}: line 1 S1 x1, line 2 S2 x2" in result.stdout
    assert level(shop, "S1", "A") == (16, 2)


def test_ship_without_cartons_packs_everything_there_in_one(shop: Store, oms: Any) -> None:
    result = oms("ship", "PO-1", "-l", "A", "--carrier", "FDEG", "--tracking", "7700")
    assert result.exit_code == 0, result.output
    with shop.read() as conn:
        [sscc] = conn.execute(select(Carton.sscc)).scalars()
    assert f"carton {sscc}: line 1 S1 x4, line 2 S2 x2" in result.stdout
    # Without a GS1 prefix in oms.toml there are no labels: the units ship loose and the operator is told.
    loose = oms("ship", "W-2", "--channel", "web", "-l", "A", "--carrier", "UPS", "--tracking", "1Z9", toml="")
    assert loose.exit_code == 0, loose.output
    assert "loose (no cartons): line 1 S1 x1" in loose.stdout and "gs1_company_prefix" in loose.stderr
    refused = oms("ship", "W-2", "--channel", "amz", "-l", "A", "--carrier", "UPS", "--tracking", "1Z9",
                  "--carton", "S1:1")
    assert refused.exit_code == 2 and "set gs1_company_prefix in the [shipping] section" in refused.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("ship", "PO-1", "-l", "A", "--carrier", "UPS"), "order PO-1 not shipped: a shipment needs a tracking number"),
    (("ship", "PO-1", "-l", "A", "--carrier", "UPS", "--tracking", "1Z", "--carton", "S1:9"),
     "order PO-1, carton 1: 9 x S1 asked, 4 reserved for it at A"),
    (("ship", "PO-1", "-l", "A", "--carrier", "UPS", "--tracking", "1Z", "--carton", "S1=2"), "each item is SKU:QTY"),
    (("ship", "PO-1", "-l", "A", "--carrier", "UPS", "--tracking", "1Z", "--cost", "1.234"), "at most 2 decimals"),
    (("ship", "PO-1", "-l", "NOWHERE", "--carrier", "UPS", "--tracking", "1Z"), "no location 'NOWHERE'"),
    (("ship", "W-2", "-l", "A", "--carrier", "UPS", "--tracking", "1Z"),
     "order W-2 is on several channels (amz, web); say which with --channel"),
    (("hold", "PO-9", "--reason", "x"), "no order PO-9"),
    (("cancel", "PO-1", "--line", "2:3", "--reason", "x"), r"order PO-1 line 2 (S2): cannot cancel 3 units"),
    (("cancel", "PO-1", "--line", "two", "--reason", "x"), "give LINE:QTY"),
    (("pickup", "ready", "PO-1"), "order PO-1 is to be shipped, not picked up in store"),
])
def test_bad_input_exits_2_and_says_which_order_and_why(shop: Store, oms: Any, args: tuple[str, ...],
                                                        message: str) -> None:
    result = oms(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert order_row(shop, "PO-1", _web(shop)).status == "allocated" and level(shop, "S1", "A") == (20, 6)


def _web(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(Order.channel_id).where(Order.external_id == "PO-1")).scalar_one())


def test_hold_release_and_cancel_from_the_terminal(shop: Store, oms: Any) -> None:
    held = oms("hold", "PO-1", "--kind", "fraud", "--reason", "card declined twice")
    assert held.exit_code == 0 and "order PO-1: on hold (fraud: card declined twice), was allocated" in held.stdout
    assert level(shop, "S1", "A") == (20, 6)  # still reserved
    oid = int(order_row(shop, "PO-1").id)
    released = oms("release", "PO-1", f"#{oid + 1}", "--reason", "risk cleared it")
    assert released.exit_code == 1  # the second one was not on hold
    assert "order PO-1: fraud hold released, now allocated" in released.stdout
    assert f"order #{oid + 1}: skipped: allocated, not on hold" in released.stderr
    with shop.read() as conn:
        actor = conn.execute(select(AuditEvent.actor).where(AuditEvent.action == "order.hold_released")).scalar_one()
    assert actor == "maria"

    cancelled = oms("cancel", "PO-1", "--line", "1:1", "--line", "2:2", "--reason", "customer changed their mind")
    assert cancelled.exit_code == 0, cancelled.output
    assert "order PO-1: 3 units cancelled; 3 reserved units back in stock" in cancelled.stdout
    assert "line 2 S2: 2 cancelled" in cancelled.stdout and "the order is allocated" in cancelled.stdout
    assert level(shop, "S1", "A") == (20, 5) and level(shop, "S2", "A") == (20, 0)
    whole = oms("cancel", str(oid), "--reason", "fraud confirmed")  # the store's own id works too
    assert whole.exit_code == 0 and "the order is cancelled" in whole.stdout


def test_pickup_ready_and_done(shop: Store, oms: Any) -> None:
    with shop.write() as conn:  # what routing records for a click-and-collect order reserved at store A
        conn.execute(update(Order).where(Order.external_id == "PO-1").values(
            fulfilment="pickup", pickup_location_id=location_id(conn, "A")))
    too_soon = oms("pickup", "done", "PO-1")
    assert too_soon.exit_code == 2 and "only an order ready for pick-up can be picked up" in too_soon.stderr
    ready = oms("pickup", "ready", "PO-1")
    assert ready.exit_code == 0 and "order PO-1: ready for pick-up at A" in ready.stdout
    done = oms("pickup", "done", "PO-1", "--collected-by", "J. Smith")
    assert done.exit_code == 0 and "order PO-1: picked up at A, 6 units" in done.stdout
    assert order_row(shop, "PO-1", _web(shop)).status == "picked_up"
    with shop.read() as conn:
        shipped = conn.execute(select(OrderLine.qty_shipped).order_by(OrderLine.id).limit(2)).scalars().all()
    assert shipped == [4, 2] and level(shop, "S1", "A") == (16, 2)
