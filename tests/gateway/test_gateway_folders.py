"""CSV drop folders run by the gateway: the same worker in `--once` passes and as a watcher."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from gateway.daemon import Gateway
from gateway.settings import FolderSpec, GatewaySettings
from store import Store
from store.heartbeats import beats
from store.models import Order

CSV = b"order_id,sku,qty,unit_price,currency\nF1,S1,2,12.50,USD\nF2,S2,1,3.00,USD\n"


def _orders(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(Order)).scalar_one())


def test_a_once_pass_takes_the_files_already_there(catalog: Store, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(CSV)
    gw = Gateway(catalog, GatewaySettings(folders=(FolderSpec(tmp_path, "generic", "web"),)), holder="t")
    assert gw.run_once() == 0
    assert _orders(catalog) == 2
    assert (tmp_path / "processed" / "a.csv").exists()
    assert [b.state for b in beats(catalog) if b.worker == f"folder:{tmp_path}"] == ["idle"]


def test_the_running_gateway_watches_the_folder_and_stops_on_request(catalog: Store, tmp_path: Path) -> None:
    gw = Gateway(catalog, GatewaySettings(folders=(FolderSpec(tmp_path, "generic", "web", settle_seconds=0.2),)),
                 holder="t")
    stop = threading.Event()
    runner = threading.Thread(target=gw.serve, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(b.state == "idle" for b in beats(catalog)):
            time.sleep(0.05)
        (tmp_path / "b.csv").write_bytes(CSV)  # lands while the gateway runs
        while time.monotonic() < deadline and _orders(catalog) < 2:
            time.sleep(0.05)
        assert _orders(catalog) == 2
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
    assert [b.state for b in beats(catalog) if b.worker == f"folder:{tmp_path}"] == ["stopped"]
