"""Fake marketplace and cart APIs: real HTTP on loopback, behaving like the documented APIs
(../shared/reference/marketplaces). Used by the tests, `oms demo` and bench/sync.py.

    server        the base: routes, a controllable clock, injected faults, a server-side bucket
    shopify       Admin GraphQL: orders, fulfillment orders, inventorySetQuantities, webhooks
    amazon        LWA tokens, Orders 2026-01-01 searchOrders, v0 confirmShipment, Listings PATCH
    woocommerce   REST v3 orders, Shipment Tracking, products batch, webhooks
    ebay          OAuth, Sell Fulfillment orders and shipping_fulfillment, Inventory bulk update
"""

from __future__ import annotations

from .server import Clock, FakeApi, Request, Response, ServerBucket, json_response

__all__ = ["Clock", "FakeApi", "Request", "Response", "ServerBucket", "json_response"]
