"""End to end through the real entry point: `oms tui` in a real terminal (tmux)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _need_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("OMS_REQUIRE_SERVICES") == "1":
            pytest.fail("tmux is required (OMS_REQUIRE_SERVICES=1) but not installed")
        pytest.skip(reason="tmux not installed")
    return tmux


def test_oms_tui_shows_orders_filters_and_quits(tmp_path: Path) -> None:
    tmux = _need_tmux()
    env = {k: v for k, v in os.environ.items() if k != "OMS_DATABASE_URL"}
    env["OMS_HOME"] = str(tmp_path)
    seeded = subprocess.run(
        [sys.executable, "-m", "oms", "demo", "--no-tui", "--orders", "300", "--skus", "60"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr
    session = f"oms-{os.getpid()}"
    command = f"OMS_HOME={tmp_path} TEXTUAL_ANIMATIONS=none {sys.executable} -m oms tui"
    subprocess.run(
        [tmux, "-L", session, "new-session", "-d", "-s", session, "-x", "120", "-y", "32", command],
        check=True, env=env, cwd=Path(__file__).resolve().parents[2],
    )
    tm = [tmux, "-L", session]
    try:
        screen = _wait_for_sock(tm, session, "300 orders")
        assert "All orders" in screen
        subprocess.run([*tm, "send-keys", "-t", session, "4"], check=True)
        screen = _wait_for_sock(tm, session, "─ Backordered ")
        rows = [ln for ln in screen.splitlines() if re.search(r"[A-Z]{3}-1\d{5}", ln)]
        assert rows and all("backordered" in ln for ln in rows)
        subprocess.run([*tm, "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if subprocess.run([*tm, "has-session", "-t", session], capture_output=True).returncode != 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("oms tui did not quit on q")
    finally:
        subprocess.run([*tm, "kill-server"], capture_output=True)


def _wait_for_sock(tm: list[str], session: str, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run([*tm, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")
