"""The terminal UI. It reads the store through `store.views` and never writes directly."""

from __future__ import annotations

from collections.abc import Mapping

from store import Store

from .app import OmsApp

__all__ = ["OmsApp", "run"]


def run(store: Store, *, keymap: Mapping[str, str] | None = None) -> None:
    """Run the app on this terminal until the user quits."""
    OmsApp(store, keymap=keymap).run()
