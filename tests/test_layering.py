"""The core never imports a UI or a transport (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN = ("textual", "httpx", "paramiko", "watchdog")


def _loaded_after(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in json.loads(out)}


@pytest.mark.parametrize("module", ["store", "store.intake", "store.check", "edi_maps", "connectors.jsonl"])
def test_core_pulls_in_no_ui_or_transport(module: str) -> None:
    loaded = _loaded_after(module)
    assert not loaded & set(FORBIDDEN), f"{module} imports {sorted(loaded & set(FORBIDDEN))}"


def test_the_check_itself_can_fail() -> None:
    # The same probe sees textual when something does import it.
    assert "textual" in _loaded_after("tui")
