"""oms.toml as an admin writes it: applied by `oms init`, mistakes named where they are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from store import open_store
from store.models import Channel, ChannelLocation, TradingPartner

CONFIG = """
[[locations]]
code = "DAL"
name = "Dallas DC"
priority = 1

[[locations]]
code = "RNO"
name = "Reno DC"
priority = 2

[[channels]]
code = "shop"
name = "Web shop"
kind = "cart"
locations = ["RNO"]

[[partners]]
code = "acme"
name = "ACME Retail"
isa_qualifier = "ZZ"
isa_id = "ACMERETAIL"
gs_id = "ACMERETAIL"
our_isa_qualifier = "ZZ"
our_isa_id = "US"
our_gs_id = "US"
version = "004010VICS"
terminator = "\\n"
documents = ["997", "855"]
"""


def _oms(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMS_DATABASE_URL", "OMS_CONFIG")}
    env["OMS_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=300)


def test_init_applies_locations_channels_and_partners_and_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "oms.toml").write_text(CONFIG)
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 0, proc.stderr
    assert "configured partner acme" in proc.stdout and "configured channel shop" in proc.stdout
    store = open_store(f"sqlite:///{tmp_path / 'oms.db'}")
    with store.read() as conn:
        partner = conn.execute(select(TradingPartner)).one()
        kinds = dict(conn.execute(select(Channel.code, Channel.kind)).all())
        links = conn.execute(select(ChannelLocation)).all()
    assert (partner.isa_id, partner.x12_version, partner.config["terminator"]) == ("ACMERETAIL", "004010VICS", "\n")
    assert kinds == {"shop": "cart", "acme": "edi"}
    assert len(links) == 1
    again = _oms(tmp_path, "init")
    assert again.returncode == 0 and "configured" not in again.stdout
    # An edit is applied on the next init, to the same rows.
    (tmp_path / "oms.toml").write_text(CONFIG.replace('version = "004010VICS"', 'version = "005010"'))
    edited = _oms(tmp_path, "init")
    assert "configured partner acme" in edited.stdout
    with store.read() as conn:
        assert conn.execute(select(TradingPartner.x12_version)).scalars().all() == ["005010"]
    store.dispose()


def test_mistakes_are_named_with_where_they_are(tmp_path: Path) -> None:
    (tmp_path / "oms.toml").write_text(CONFIG.replace('isa_qualifier = "ZZ"', 'isa_qualifier = "ZZZ"', 1))
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 2
    assert "partners[1] (acme).isa_qualifier: String should have at most 2 characters" in proc.stderr
    (tmp_path / "oms.toml").write_text(CONFIG.replace('locations = ["RNO"]', 'locations = ["NOWHERE"]'))
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 2 and "channel shop: no location NOWHERE" in proc.stderr
    (tmp_path / "oms.toml").write_text(CONFIG.replace('terminator = "\\n"', 'terminator = "*"'))
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 2 and "three different characters" in proc.stderr
    (tmp_path / "oms.toml").write_text(CONFIG + "require_855 = true\n")  # documents lists 855: accepted
    assert _oms(tmp_path, "init").returncode == 0
    (tmp_path / "oms.toml").write_text(CONFIG.replace('documents = ["997", "855"]', 'documents = ["997"]\nrequire_855 = true'))
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 2 and "partners[1] (acme)" in proc.stderr and "does not list \"855\"" in proc.stderr


def test_the_sample_written_by_init_parses(tmp_path: Path) -> None:
    assert _oms(tmp_path, "init").returncode == 0
    text = (tmp_path / "oms.toml").read_text()
    # Uncomment every example: the documented keys must all be accepted.
    uncommented = "\n".join(line[2:] if line.startswith("# ") and "=" in line or line.startswith("# [") else line
                            for line in text.splitlines())
    (tmp_path / "oms.toml").write_text(uncommented.replace('url = "postgresql+psycopg://oms@db.internal/oms"', ""))
    proc = _oms(tmp_path, "init")
    assert proc.returncode == 0, proc.stderr
    assert "configured partner acme" in proc.stdout and "configured location DAL" in proc.stdout


def test_an_api_channel_lists_skus_and_takes_its_secrets_from_the_environment(tmp_path: Path) -> None:
    from oms.config import ConfigFileError, load_config, to_gateway, to_setup
    from store.catalog import NewSku, add_skus
    from store.migrate import upgrade
    from store.setup import apply_setup
    from store.stock_sync import listings

    (tmp_path / "oms.toml").write_text(CONFIG + """
[[channels]]
code = "shopify-main"
name = "Shopify"
kind = "marketplace"
connector = "shopify"
listings = ["S1"]
stock_buffer = 2
poll_seconds = 30
[channels.api]
url = "https://example.myshopify.com"
access_token_env = "TEST_SHOP_TOKEN"
location_id = "1"
""")
    config = load_config(tmp_path / "oms.toml")
    settings, _ = to_gateway(config, base=tmp_path, env={"TEST_SHOP_TOKEN": "shpat_secret"})
    (spec,) = settings.channels
    assert (spec.channel, spec.connector, spec.poll_seconds) == ("shopify-main", "shopify", 30.0)
    assert spec.settings == {"url": "https://example.myshopify.com", "access_token": "shpat_secret", "location_id": "1"}
    try:
        to_gateway(config, base=tmp_path, env={})
    except ConfigFileError as exc:
        assert "channels[2] (shopify-main).api.access_token_env: environment variable TEST_SHOP_TOKEN is not set" in str(exc)
    else:
        raise AssertionError("a missing secret was not named")
    store = open_store(f"sqlite:///{tmp_path / 'oms.db'}")
    upgrade(store)
    add_skus(store, [NewSku("S1", "Thing", 100, "USD"), NewSku("S2", "Other", 100, "USD")])
    apply_setup(store, to_setup(config))
    assert [x.sku for x in listings(store, "shopify-main")] == ["S1"]  # only what it lists
    with store.read() as conn:
        assert conn.execute(select(Channel.config).where(Channel.code == "shopify-main")).scalar_one()["stock_buffer"] == 2
    store.dispose()
