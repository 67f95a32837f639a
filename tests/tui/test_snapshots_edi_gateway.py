"""How the EDI, document, gateway and dashboard screens look at 80x24 and 120x40 (fixed data
and clock: tests/tui/_edi_gateway_data.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot

from edi_maps import names as edi_names
from store import Store
from tests.tui._edi_gateway_data import FIXED, document_id
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.document import DocumentScreen

SnapCompare = Callable[..., bool]
SIZES = [(80, 24), (120, 40)]


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
def test_documents_list(edi_gateway_store: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(_app(edi_gateway_store), terminal_size=size, run_before=_go("f5"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_one_850_with_element_names(edi_gateway_store: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    doc = document_id(edi_gateway_store, "po1001.x12")

    async def run(pilot: Pilot[None]) -> None:
        await _go("f5")(pilot)
        pilot.app.push_screen(DocumentScreen(doc))
        await settle_app(pilot)
        await pilot.press("down", "down", "down", "down", "down", "down", "down", "down", "down", "down")
        await settle_app(pilot)

    assert snap_compare(_app(edi_gateway_store), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_gateway(edi_gateway_store: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(_app(edi_gateway_store), terminal_size=size, run_before=_go("f6"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(edi_gateway_store: Store, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(_app(edi_gateway_store), terminal_size=size, run_before=_go("f7"))
