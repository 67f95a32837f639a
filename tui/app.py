"""The oms terminal app: composition, global keys and which screen shows what."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from store import Store

from .commands import OrderCommands
from .screens.orders import OrdersScreen

__all__ = ["OmsApp"]


class OmsApp(App[None]):
    """Work the store's orders from a terminal. `keymap` maps binding ids to other keys."""

    TITLE = "oms"
    SUB_TITLE = "orders"
    CSS_PATH = "oms.tcss"
    COMMANDS = App.COMMANDS | {OrderCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave oms"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit-anywhere",
                tooltip="Leave oms, whatever has focus"),
        Binding("f1", "toggle_keys", "Keys", id="app.keys", tooltip="Show or hide every key of this screen"),
    ]

    def __init__(self, store: Store, *, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.store = store
        self._user_keymap = dict(keymap or {})

    def on_mount(self) -> None:
        if self._user_keymap:
            self.set_keymap(self._user_keymap)

    def get_default_screen(self) -> Screen[None]:
        return OrdersScreen(self.store)

    def action_toggle_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
