"""The stock-push outbox: every change to what a SKU can promise marks it for each channel that
lists it, whatever wrote the change; pushes coalesce, and a change on the wire is never lost."""

from __future__ import annotations

from store import Store, ingest
from store.cancellations import cancel_units
from store.catalog import NewSku, add_skus
from store.inventory import adjust, receive, set_safety
from store.setup import ChannelSpec, Setup, apply_setup
from store.shipping import ship
from store.stock_sync import Pushed, configure_stock, list_skus, listings, mark_all, pending_pushes, stock_done, stock_due
from tests.factories import order


def _due(store: Store, channel: str) -> dict[str, int]:
    return {d.sku: d.qty for d in stock_due(store, channel)}


def _push_all(store: Store, channel: str) -> dict[str, int]:
    due = stock_due(store, channel)
    stock_done(store, channel, [Pushed(d.sku_id, d.changes, True, d.qty) for d in due])
    return {d.sku: d.qty for d in due}


def test_every_kind_of_stock_change_marks_the_listing_for_each_channel(catalog: Store) -> None:
    list_skus(catalog, "web", ["S1", "S2"])
    list_skus(catalog, "amz", ["S1"])
    # A first push of every new listing, even with no stock (the channel must show 0).
    assert _push_all(catalog, "web") == {"S1": 0, "S2": 0}
    assert _push_all(catalog, "amz") == {"S1": 0}
    assert pending_pushes(catalog) == 0

    receive(catalog, "S1", "A", 10)
    receive(catalog, "S1", "B", 5)
    assert _due(catalog, "web") == {"S1": 15} and _due(catalog, "amz") == {"S1": 15}
    _push_all(catalog, "web")
    _push_all(catalog, "amz")

    r = ingest(catalog, [order("o1", ("S1", 4), channel="amz")])  # a reservation
    oid = r.outcomes[0].order_id
    assert oid is not None
    assert _due(catalog, "web") == {"S1": 11}
    _push_all(catalog, "web")
    cancel_units(catalog, oid, None, reason="customer asked")  # a release
    assert _due(catalog, "web") == {"S1": 15}
    _push_all(catalog, "web")
    adjust(catalog, "S1", "A", -3, reason="damaged")  # an adjustment
    assert _due(catalog, "web") == {"S1": 12}
    _push_all(catalog, "web")
    set_safety(catalog, "S1", "A", 2)  # safety stock
    assert _due(catalog, "web") == {"S1": 10}
    # A SKU nobody lists is never marked.
    receive(catalog, "S3", "A", 7)
    assert "S3" not in _due(catalog, "web")


def test_shipping_what_was_reserved_leaves_the_channel_figure_as_it_was(catalog: Store) -> None:
    receive(catalog, "S1", "A", 10)
    list_skus(catalog, "web", ["S1"])
    oid = ingest(catalog, [order("o1", ("S1", 2))]).outcomes[0].order_id
    assert oid is not None
    assert _push_all(catalog, "web") == {"S1": 8}
    ship(catalog, oid, "A", carrier="UPS", tracking="1Z999", lines={1: 2})
    assert _due(catalog, "web") in ({}, {"S1": 8})  # units leave on_hand and reserved alike


def test_changes_coalesce_and_a_change_during_a_push_is_pushed_again(catalog: Store) -> None:
    list_skus(catalog, "web", ["S1"])
    _push_all(catalog, "web")
    for _ in range(5):
        receive(catalog, "S1", "A", 1)
    due = stock_due(catalog, "web")
    assert [(d.sku, d.qty) for d in due] == [("S1", 5)]  # five changes, one push of the latest figure
    receive(catalog, "S1", "A", 1)  # arrives while the push is on the wire
    assert stock_done(catalog, "web", [Pushed(due[0].sku_id, due[0].changes, True, 5)]) == 0
    assert _due(catalog, "web") == {"S1": 6}
    assert [(x.sku, x.last_qty, x.pending) for x in listings(catalog, "web")] == [("S1", 5, True)]


def test_a_refused_push_is_retried_later_with_its_reason_kept(catalog: Store) -> None:
    list_skus(catalog, "web", ["S1"])
    due = stock_due(catalog, "web")
    stock_done(catalog, "web", [Pushed(due[0].sku_id, due[0].changes, False, 0, error="no product with SKU S1")])
    assert stock_due(catalog, "web") == []  # backing off
    assert listings(catalog, "web")[0].last_error == "no product with SKU S1"
    assert pending_pushes(catalog, "web") == 1


def test_buffer_cap_and_channel_locations_shape_what_a_channel_is_shown(store: Store) -> None:
    from store.catalog import add_location

    add_location(store, "A", "Alpha", priority=1)
    add_location(store, "B", "Beta", priority=2)
    add_skus(store, [NewSku("S1", "Thing", 1000, "USD")])
    apply_setup(store, Setup(channels=[
        ChannelSpec("shop", "Shop", "cart", connector="shopify", stock_buffer=2, max_listed=20),
        ChannelSpec("ebay", "eBay", "marketplace", locations=("B",), connector="ebay", listings=("S1",)),
    ]))
    receive(store, "S1", "A", 30)
    receive(store, "S1", "B", 4)
    assert _due(store, "shop") == {"S1": 20}  # 34 - 2, capped at 20
    assert _due(store, "ebay") == {"S1": 4}  # only B fulfils eBay
    configure_stock(store, "shop", max_listed=None, clear_max=True)
    assert _due(store, "shop") == {"S1": 32}
    # A SKU added later is listed on the channel that lists everything, not on the other.
    add_skus(store, [NewSku("S9", "Later", 500, "USD")])
    assert "S9" in _due(store, "shop") and "S9" not in _due(store, "ebay")
    _push_all(store, "ebay")
    assert mark_all(store, "ebay") == 1 and _due(store, "ebay") == {"S1": 4}
