"""The marketplace and cart connectors by name, as oms.toml's `connector = "..."` names them.

    connector = build("shopify", "shopify-main", {"url": ..., "access_token": ...})
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import httpx

from .channel import Connector
from .errors import ConnectorError

__all__ = ["CONNECTORS", "build"]

# name -> (module, class); imported when first built, so a gateway without eBay never loads it.
CONNECTORS: Mapping[str, tuple[str, str]] = {
    "shopify": ("connectors.shopify", "Shopify"),
    "amazon": ("connectors.amazon", "Amazon"),
    "woocommerce": ("connectors.woocommerce", "WooCommerce"),
    "ebay": ("connectors.ebay", "Ebay"),
}


def build(
    name: str, channel: str, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None,
) -> Connector:
    if name not in CONNECTORS:
        raise ConnectorError(f"channel {channel}: no connector {name!r} (connectors: {', '.join(CONNECTORS)})")
    module, cls = CONNECTORS[name]
    factory = getattr(importlib.import_module(module), cls)
    connector: Connector = factory(channel, settings, transport=transport)
    return connector
