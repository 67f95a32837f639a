"""A real SQLite store with a few thousand orders, and helpers to read what the app shows."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, func, select, update
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget

from store import Address, CanonicalLine, CanonicalOrder, Store, ingest, open_store
from store.catalog import NewSku, add_channel, add_location, add_skus
from store.inventory import receive
from store.models import Order
from tests.sshd import sshd_factory  # noqa: F401  (fixture: the SSH end-to-end test)
from tests.tui._order_data import Orders
from tests.tui.terminal import Terminal, need_tmux
from tui.widgets.order_table import OrderTable

os.environ["TEXTUAL_ANIMATIONS"] = "none"

ORDER_COUNT = 3000
# A fixed clock for the seeded orders, so screens do not depend on when tests run.
EPOCH = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
_CITIES = ("Leeds", "Zürich", "東京", "Porto", "Austin")


def external_id(n: int) -> str:
    return f"W{n:05d}"


def _order(n: int) -> CanonicalOrder:
    if n % 101 == 50:
        item = "NO-SUCH-ITEM"  # waits in the unknown_item queue
    elif n % 7 == 0:
        item = "S2"  # never in stock: backordered
    else:
        item = "S1"  # in stock until the last few hundred orders
    return CanonicalOrder(
        channel="web" if n % 3 else "amz",
        external_id=external_id(n),
        lines=(CanonicalLine(item, 1 + n % 2, 1299, item_kind="sku"),),
        currency="USD",
        version=1,
        buyer_name=f"Buyer {n}",
        ship_to=Address(city=_CITIES[n % len(_CITIES)]),
    )


def seed(store: Store, first: int, count: int) -> None:
    """Orders W<first>..W<first+count-1>, ingested in that order (the last one is the newest)."""
    with store.read() as conn:
        before = conn.execute(select(func.coalesce(func.max(Order.id), 0))).scalar_one()
    ingest(store, [_order(n) for n in range(first, first + count)])
    with store.write() as conn:
        ids = conn.execute(select(Order.id).where(Order.id > before)).scalars().all()
        rows = [{"oid": oid, "at": EPOCH + dt.timedelta(minutes=oid)} for oid in ids]
        if rows:
            conn.execute(
                update(Order).where(Order.id == bindparam("oid")).values(received_at=bindparam("at")), rows
            )


@pytest.fixture(scope="session")
def seeded_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui") / "oms.db"
    shutil.copy(sqlite_template, path)
    store = open_store(f"sqlite:///{path}")
    add_channel(store, "web", "Web shop", "cart")
    add_channel(store, "amz", "Amazon", "marketplace")
    add_location(store, "A", "Alpha DC")
    add_skus(store, [NewSku("S1", "Widget", 1299, "USD"), NewSku("S2", "Gadget", 1299, "USD")])
    receive(store, "S1", "A", 3200)
    seed(store, 0, ORDER_COUNT)
    store.dispose()
    return path


@pytest.fixture
def orders_store(seeded_db: Path, tmp_path: Path) -> Iterator[Store]:
    """A store of its own for each test, holding the seeded orders."""
    path = tmp_path / "oms.db"
    shutil.copy(seeded_db, path)
    store = open_store(f"sqlite:///{path}")
    yield store
    store.dispose()


# -- the stores the screens' tests work on: each built once, copied for every test ------------


def _copy(built: Path, tmp_path: Path) -> Store:
    path = tmp_path / "oms.db"
    shutil.copy(built, path)
    return open_store(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def edi_gateway_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Partners, documents in and out, heartbeats, pauses, alerts and shipped orders
    (tests/tui/_edi_gateway_data.py), for the EDI, gateway and dashboard tests."""
    from tests.tui._edi_gateway_data import build

    path = tmp_path_factory.mktemp("edi-gateway") / "oms.db"
    build(sqlite_template, path)
    return path


@pytest.fixture
def edi_gateway_store(edi_gateway_db: Path, tmp_path: Path) -> Iterator[Store]:
    store = _copy(edi_gateway_db, tmp_path)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def shop_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Orders]:
    """Orders in every state an order screen shows (tests/tui/_order_data.py)."""
    from tests.tui._order_data import build

    path = tmp_path_factory.mktemp("shop") / "oms.db"
    store, orders = build(path, sqlite_template)
    store.dispose()
    return path, orders


@pytest.fixture
def shop(shop_db: tuple[Path, Orders], tmp_path: Path) -> Iterator[tuple[Store, Orders]]:
    store = _copy(shop_db[0], tmp_path)
    yield store, shop_db[1]
    store.dispose()


@pytest.fixture(scope="session")
def desk_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stock, shipped orders and RMAs in each state (tests/tui/_returns_stock_data.py)."""
    from tests.tui._returns_stock_data import build

    path = tmp_path_factory.mktemp("desk") / "oms.db"
    build(sqlite_template, path).dispose()
    return path


@pytest.fixture
def desk(desk_db: Path, tmp_path: Path) -> Iterator[Store]:
    store = _copy(desk_db, tmp_path)
    yield store
    store.dispose()


def visible_lines(widget: Widget) -> list[str]:
    """A Line-API widget's lines as the terminal shows them (for the order list, header first)."""
    return [widget.render_line(y).text.rstrip() for y in range(widget.scrollable_size.height)]


def order_table(app: App[None]) -> OrderTable:
    """The order list, also while a palette or dialog is open over it."""
    screen = next(s for s in reversed(app.screen_stack) if s.query(OrderTable))
    return screen.query_one(OrderTable)


def order_lines(app: App[None]) -> list[str]:
    """The order rows on screen, without the header line."""
    return visible_lines(order_table(app))[1:]


async def settle_app(pilot: Pilot[None]) -> None:
    """Let any screen finish its work: workers done and messages handled, twice in a row."""
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(worker.is_running for worker in app.workers):
            await pilot.pause()
            return
    raise AssertionError("the app did not settle")


async def settle(pilot: Pilot[None]) -> None:
    """Let the app finish its work: workers done, messages handled, the screen redrawn."""
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = order_table(app)
        busy = any(worker.is_running for worker in app.workers)
        if not busy and table.row_count is not None and all(line.strip() != "…" for line in order_lines(app)):
            return
    raise AssertionError("the app did not settle")


# -- end to end: the real `oms` in a real terminal ----------------------------------------------


def oms_env(home: Path) -> dict[str, str]:
    """This environment without any OMS_ setting, the data directory `home`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OMS_")} | {"OMS_HOME": str(home)}


@pytest.fixture(scope="session")
def seeded_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory `oms demo --no-tui` seeded once (300 orders, 60 SKUs)."""
    home = tmp_path_factory.mktemp("demo") / "oms"
    done = subprocess.run([sys.executable, "-m", "oms", "demo", "--no-tui", "--orders", "300", "--skus", "60"],
                          env=oms_env(home), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return home


@pytest.fixture
def demo_home(seeded_demo: Path, tmp_path: Path) -> Path:
    """A copy of the seeded demo data directory of this test's own."""
    home = tmp_path / "oms"
    shutil.copytree(seeded_demo, home)
    return home


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """A tmux session of this test's own (skips, or fails under OMS_REQUIRE_SERVICES=1, without tmux)."""
    term = Terminal(need_tmux(), f"oms-{os.getpid()}-{id(object())}")
    yield term
    term.close()
