"""End to end through the real entry point: `oms tui` in a real terminal (tmux)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.tui.conftest import oms_env
from tests.tui.terminal import Terminal

pytestmark = pytest.mark.slow


def test_oms_tui_shows_orders_filters_and_quits(demo_home: Path, terminal: Terminal) -> None:
    command = f"OMS_HOME={demo_home} TEXTUAL_ANIMATIONS=none {sys.executable} -m oms tui"
    terminal.start(command, oms_env(demo_home), cwd=str(Path(__file__).resolve().parents[2]))
    screen = terminal.wait_for("300 orders")
    assert "All orders" in screen
    terminal.keys("4")
    screen = terminal.wait_for("─ Backordered ")
    rows = [ln for ln in screen.splitlines() if re.search(r"[A-Z]{3}-1\d{5}", ln)]
    assert rows and all("backordered" in ln for ln in rows)
    terminal.keys("q")
    assert terminal.wait_gone(15), "oms tui did not quit on q"
