"""All four fake channels at once, and the connector settings that point at each: for `oms demo`,
bench/sync.py and the gateway's end-to-end tests.

    rig = start_rig({"shopify-main": "shopify", "amazon-us": "amazon"}, skus=["SKU-0001"])
    rig.fakes["shopify-main"].add_order({"SKU-0001": 1})     # a sale at the channel
    connector = build(rig.kinds[code], code, rig.settings[code])
    rig.stop()

The fakes share one clock and keep their documented rate limits unless `limits` says
otherwise (a fake's constructor keywords, per connector name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .amazon import FakeAmazon
from .ebay import FakeEbay
from .server import Clock, FakeApi
from .shopify import FakeShopify
from .woocommerce import FakeWooCommerce

__all__ = ["Rig", "start_rig", "DEMO_CHANNELS"]

DEMO_CHANNELS: Mapping[str, str] = {
    "shopify-main": "shopify", "amazon-us": "amazon", "woo-outlet": "woocommerce", "ebay": "ebay",
}


@dataclass
class Rig:
    clock: Clock
    fakes: dict[str, Any] = field(default_factory=dict)  # channel code -> its fake
    kinds: dict[str, str] = field(default_factory=dict)  # channel code -> connector name
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # channel code -> connector settings

    def stop(self) -> None:
        for fake in self.fakes.values():
            fake.stop()


def _settings(kind: str, fake: Any) -> dict[str, Any]:
    if kind == "shopify":
        return {"url": fake.url, "access_token": fake.access_token, "webhook_secret": fake.webhook_secret,
                "location_id": fake.location_id}
    if kind == "amazon":
        return {"url": fake.url, "token_url": f"{fake.url}/auth/o2/token", "client_id": fake.client_id,
                "client_secret": fake.client_secret, "refresh_token": fake.refresh_token,
                "seller_id": fake.seller_id, "marketplace_id": fake.marketplace_id}
    if kind == "woocommerce":
        return {"url": fake.url, "consumer_key": fake.consumer_key, "consumer_secret": fake.consumer_secret,
                "webhook_secret": fake.webhook_secret}
    if kind == "ebay":
        return {"url": fake.url, "client_id": fake.client_id, "client_secret": fake.client_secret,
                "refresh_token": fake.refresh_token}
    raise ValueError(f"no fake for connector {kind!r}")


_FAKES: Mapping[str, type[FakeApi]] = {
    "shopify": FakeShopify, "amazon": FakeAmazon, "woocommerce": FakeWooCommerce, "ebay": FakeEbay,
}


def start_rig(
    channels: Mapping[str, str] = DEMO_CHANNELS, *, skus: Iterable[str] = (), qty: int = 0, clock: Clock | None = None,
    limits: Mapping[str, Mapping[str, Any]] | None = None,
) -> Rig:
    """Start a fake per channel (code -> connector name), each listing `skus` at `qty`."""
    rig = Rig(clock or Clock())
    codes = list(skus)
    try:
        for code, kind in channels.items():
            fake: Any = _FAKES[kind](clock=rig.clock, **dict((limits or {}).get(kind, {})))
            fake.start()
            rig.fakes[code], rig.kinds[code] = fake, kind
            for sku in codes:
                fake.set_listing(sku, qty)
            rig.settings[code] = _settings(kind, fake)
    except BaseException:
        rig.stop()
        raise
    return rig
