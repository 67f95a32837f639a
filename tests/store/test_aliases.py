"""Mapping an unknown item from the order screen: an alias for the order's channel, of the
kind the line used, and the order resolved and routed in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store import Store, StoreError, check, ingest
from store.aliases import map_unknown_item, unknown_lines
from store.inventory import receive
from store.models import AuditEvent, SkuAlias
from tests.factories import order
from tests.store.helpers import level, order_row


def test_a_channel_item_id_mapped_to_a_sku_resolves_and_routes_the_order(catalog: Store) -> None:
    receive(catalog, "S2", "A", 5)
    ingest(catalog, [order("55", ("ZZ-TOP-9", 2), kind="channel_item_id")])
    oid = order_row(catalog, "55").id
    with catalog.read() as conn:
        [line] = unknown_lines(conn, oid)
    assert (line.line_no, line.kind, line.value) == (1, "channel_item_id", "ZZ-TOP-9")
    done = map_unknown_item(catalog, oid, 1, "S2", actor="ann")
    assert done.resolved and done.status == "allocated"
    row = order_row(catalog, "55")
    assert (row.exception, row.status) == (None, "allocated")
    assert level(catalog, "S2", "A") == (5, 2)
    with catalog.read() as conn:
        alias = conn.execute(select(SkuAlias)).one()
        assert (alias.kind, alias.value, alias.channel_id) == ("channel_item_id", "ZZ-TOP-9", row.channel_id)
        event = conn.execute(select(AuditEvent).where(AuditEvent.action == "sku.alias_added")).one()
        assert event.actor == "ann"
    # The next order naming it the same way resolves on intake.
    ingest(catalog, [order("56", ("ZZ-TOP-9", 1), kind="channel_item_id")])
    assert order_row(catalog, "56").exception is None
    assert check(catalog).ok


def test_a_code_the_channel_uses_for_our_sku_becomes_a_sku_alias_on_that_channel(catalog: Store) -> None:
    receive(catalog, "S1", "A", 5)
    ingest(catalog, [order("57", ("OLD-CODE", 1), ("ALSO-OLD", 1))])
    oid = order_row(catalog, "57").id
    first = map_unknown_item(catalog, oid, 1, "S1", actor="ann")
    assert not first.resolved and order_row(catalog, "57").exception == "unknown_item"
    second = map_unknown_item(catalog, oid, 2, "S1", actor="ann")
    assert second.resolved and second.kind == "sku"
    assert order_row(catalog, "57").status == "allocated"
    with pytest.raises(StoreError, match="no unknown item"):
        map_unknown_item(catalog, oid, 1, "S1", actor="ann")
    # Another channel's order with the same code is still unknown: the alias is web's only.
    ingest(catalog, [order("58", ("OLD-CODE", 1), channel="amz")])
    assert order_row(catalog, "58").exception == "unknown_item"


def test_mapping_to_a_sku_that_does_not_exist_changes_nothing(catalog: Store) -> None:
    ingest(catalog, [order("59", ("ZZ", 1), kind="upc")])
    oid = order_row(catalog, "59").id
    with pytest.raises(StoreError, match="no SKU 'NOPE'"):
        map_unknown_item(catalog, oid, 1, "NOPE", actor="ann")
    with catalog.read() as conn:
        assert conn.execute(select(SkuAlias)).first() is None
