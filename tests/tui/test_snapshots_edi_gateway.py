"""How the EDI, document, gateway and dashboard screens look at 80x24 and 120x40 (fixed data
and clock: tests/tui/_edi_gateway_data.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from edi_maps import names as edi_names
from store import Store
from tests.tui._edi_gateway_data import FIXED, build, copy_store, document_id
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.document import DocumentScreen

SnapCompare = Callable[..., bool]
SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="session")
def snap_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap-edi") / "oms.db"
    build(sqlite_template, path)
    return path


@pytest.fixture
def snap_store(snap_db: Path, tmp_path: Path) -> Iterator[Store]:
    store = copy_store(snap_db, tmp_path / "oms.db")
    yield store
    store.dispose()


def _app(store: Store) -> OmsApp:
    return OmsApp(store, operator=Operator("alice", "admin"), now=lambda: FIXED, poll_seconds=None,
                  edi_names=edi_names)


def _go(key: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await settle_app(pilot)
        await pilot.press(key)
        await settle_app(pilot)

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_documents_list(snap_store: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(_app(snap_store), terminal_size=size, run_before=_go("f5"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_one_850_with_element_names(snap_store: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    doc = document_id(snap_store, "po1001.x12")

    async def run(pilot: Pilot[None]) -> None:
        await _go("f5")(pilot)
        pilot.app.push_screen(DocumentScreen(doc))
        await settle_app(pilot)
        await pilot.press("down", "down", "down", "down", "down", "down", "down", "down", "down", "down")
        await settle_app(pilot)

    assert snap_compare(_app(snap_store), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_gateway(snap_store: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(_app(snap_store), terminal_size=size, run_before=_go("f6"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(snap_store: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(_app(snap_store), terminal_size=size, run_before=_go("f7"))
