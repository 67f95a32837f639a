"""oms.toml keys for dropship vendors and the gateway's schedules, as an admin writes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from oms.config import ConfigFileError, load_config, to_gateway
from store import open_store
from store.models import Location, TradingPartner
from tests.test_config import _oms

CONFIG = """
[[locations]]
code = "DAL"
name = "Dallas DC"

[[locations]]
code = "LAMPS"
name = "Lamp vendor (dropship)"
kind = "dropship"
vendor = "lampco"

[[partners]]
code = "lampco"
name = "Lamp Co"
isa_qualifier = "ZZ"
isa_id = "LAMPCO"
gs_id = "LAMPCO"
our_isa_qualifier = "ZZ"
our_isa_id = "US"
our_gs_id = "US"
documents = ["997", "850"]

[gateway]
ack_overdue_after = "4h"

[gateway.schedules]
ack_overdue = "5m"
stock_advice = "off"
"""


def _load(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "oms.toml"
    path.write_text(text)
    return path


def test_init_gives_a_dropship_location_its_vendor_partner(tmp_path: Path) -> None:
    _load(tmp_path, CONFIG)
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 0, proc.stderr
    assert "configured location LAMPS vendor lampco" in proc.stdout
    store = open_store(f"sqlite:///{tmp_path / 'oms.db'}")
    with store.read() as conn:
        vendors = dict(conn.execute(select(Location.code, TradingPartner.code)
                                    .outerjoin(TradingPartner, TradingPartner.id == Location.vendor_partner_id)).all())
        documents = conn.execute(select(TradingPartner.config)).scalar_one()["documents"]
    store.dispose()
    assert vendors == {"DAL": None, "LAMPS": "lampco"} and documents == ["997", "850"]
    assert "configured" not in _oms(tmp_path, "init").stdout  # applied once


@pytest.mark.parametrize(
    "edit, why",
    [
        (('vendor = "lampco"', 'vendor = "nobody"'), "locations[2] (LAMPS).vendor: no partner 'nobody' in this file"),
        (('kind = "dropship"', 'kind = "store"'), "locations[2] (LAMPS).vendor: only a location of kind = \"dropship\""),
        (('ack_overdue = "5m"', 'ack_overdue = "5 minutes"'),
         "gateway.schedules.ack_overdue: Value error, '5 minutes' is neither \"off\" nor a duration"),
        (('ack_overdue_after = "4h"', 'ack_overdue_after = "off"'),
         "gateway.ack_overdue_after: Value error, 'off' is not a duration"),
    ],
)
def test_mistakes_are_named_where_they_are(tmp_path: Path, edit: tuple[str, str], why: str) -> None:
    with pytest.raises(ConfigFileError) as err:
        load_config(_load(tmp_path, CONFIG.replace(*edit)))
    assert why in str(err.value)


def test_schedules_become_the_gateways_intervals(tmp_path: Path) -> None:
    path = _load(tmp_path, CONFIG)
    settings, _ = to_gateway(load_config(path), base=tmp_path, env={})
    assert settings.schedules == {"ack_overdue": 300.0, "stock_advice": None}
    assert settings.ack_overdue_after == 4 * 3600.0
    defaults, _ = to_gateway(load_config(_load(tmp_path, "")), base=tmp_path, env={})
    assert (defaults.schedules, defaults.ack_overdue_after) == ({}, 86_400.0)  # every job at its default
    typo = load_config(_load(tmp_path, CONFIG.replace("stock_advice =", "stock_advise =")))
    with pytest.raises(ConfigFileError, match=r"gateway.schedules.stock_advise: no such job \(jobs: ack_overdue, "
                                              r"stock_advice, auto_cancel\)"):
        to_gateway(typo, base=tmp_path, env={})
