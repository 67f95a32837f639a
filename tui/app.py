"""The oms terminal app: composition, global keys and which screen shows what.

The app owns what every screen shares: the store, the operator (name and role), the clock,
and `perform`, the one way a screen writes (role-checked, run in a worker, reported, the
audit actor set to the operator). `data_version` rises after every write and whenever the
store's audit trail grows (the gateway ingested or someone else worked an order); screens
watch it and read again what they show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import ClassVar, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from store import Store, StoreError
from store.views.common import change_marker, reading

from .access import Operator, Refused
from .commands import ActionCommands, OrderCommands

__all__ = ["CartonLabels", "EdiNames", "OmsApp", "SCREENS_BY_MODE"]

T = TypeVar("T")

# How often the app looks for changes made elsewhere (the gateway, other operators).
POLL_SECONDS = 2.0


class EdiNames(Protocol):
    """Names for X12 segments and elements (from `edi_maps`, injected by `oms tui`)."""

    def segment_name(self, tag: str) -> str: ...

    def element_name(self, tag: str, n: int) -> str: ...


class CartonLabels(Protocol):
    """How cartons are labelled (oms.toml `[shipping]`): without a GS1 prefix units ship loose."""

    @property
    def gs1_company_prefix(self) -> str | None: ...

    @property
    def sscc_extension(self) -> int: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _mode_screens() -> dict[str, Callable[[], Screen[None]]]:
    from .screens.dashboard import DashboardScreen
    from .screens.documents import DocumentsScreen
    from .screens.gateway import GatewayScreen
    from .screens.orders import OrdersScreen
    from .screens.returns import ReturnsScreen
    from .screens.stock import StockScreen

    return {
        "queue": OrdersScreen,
        "stock": StockScreen,
        "returns": ReturnsScreen,
        "edi": DocumentsScreen,
        "gateway": GatewayScreen,
        "dashboard": DashboardScreen,
    }


# mode -> (key, title) of the key that shows it.
SCREENS_BY_MODE: dict[str, tuple[str, str]] = {
    "queue": ("f2", "Queue"),
    "stock": ("f3", "Stock"),
    "returns": ("f4", "Returns"),
    "edi": ("f5", "EDI"),
    "gateway": ("f6", "Gateway"),
    "dashboard": ("f7", "Dashboard"),
}

_GO = Binding.Group("Screens", compact=True)


class OmsApp(App[None]):
    """Work the store's orders from a terminal. `keymap` maps binding ids to other keys."""

    TITLE = "oms"
    CSS_PATH = "oms.tcss"
    COMMANDS = App.COMMANDS | {OrderCommands, ActionCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave oms"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit-anywhere",
                tooltip="Leave oms, whatever has focus"),
        Binding("f1", "toggle_keys", "Keys", id="app.keys", tooltip="Show or hide every key of this screen"),
        *(
            Binding(key, f"go({mode!r})", title, group=_GO, id=f"app.go-{mode}",
                    tooltip=f"Show the {title} screen")
            for mode, (key, title) in SCREENS_BY_MODE.items()
        ),
    ]

    data_version: reactive[int] = reactive(0, init=False)

    def __init__(
        self,
        store: Store,
        *,
        operator: Operator | None = None,
        keymap: Mapping[str, str] | None = None,
        theme: str | None = None,
        now: Callable[[], dt.datetime] | None = None,
        edi_names: EdiNames | None = None,
        shipping: CartonLabels | None = None,
        poll_seconds: float | None = POLL_SECONDS,
    ) -> None:
        super().__init__()
        self.store = store
        self.operator = operator or Operator("operator", "admin")
        self.now = now or _utcnow
        self.edi_names = edi_names
        self.shipping = shipping
        self._user_keymap = dict(keymap or {})
        self._theme_name = theme
        self._poll_seconds = poll_seconds
        self._marker: int | None = None
        self.sub_title = f"{self.operator.name} ({self.operator.role})"
        for mode, screen in _mode_screens().items():
            self.add_mode(mode, screen)

    def on_mount(self) -> None:
        if self._user_keymap:
            self.set_keymap(self._user_keymap)
        if self._theme_name:
            self.theme = self._theme_name
        self.switch_mode("queue")
        if self._poll_seconds:
            self.set_interval(self._poll_seconds, self._look_for_changes)

    # -- navigation -------------------------------------------------------------

    def action_go(self, mode: str) -> None:
        """Show one of the main screens (its own stack: an open order stays open)."""
        if mode != self.current_mode:
            self.switch_mode(mode)

    def action_toggle_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    # -- writing ----------------------------------------------------------------

    def perform(
        self,
        need: str,
        what: str,
        write: Callable[[str], T],
        *,
        done: Callable[[T], object] | None = None,
        report: Callable[[T], str] | str | None = None,
    ) -> None:
        """Run `write(actor)` (a `store/` call) in a worker if the operator's role allows
        `need`; then notify `report`, call `done(result)` and let every screen read again.
        A refusal by the store is shown as an error naming `what` was tried."""
        try:
            self.operator.check(need, what)
        except Refused as exc:
            self.notify(str(exc), title="Not allowed", severity="warning")
            return
        self._write(what, write, done, report)

    @work(thread=True, group="write")
    def _write(
        self, what: str, write: Callable[[str], T], done: Callable[[T], object] | None,
        report: Callable[[T], str] | str | None,
    ) -> None:
        try:
            result = write(self.operator.name)
        except (StoreError, ValueError) as exc:
            self.call_from_thread(self.notify, str(exc), title=f"Could not {what}", severity="error", timeout=10)
            return
        except SQLAlchemyError as exc:
            why = f"the store could not be written: {getattr(exc, 'orig', None) or exc}"
            self.call_from_thread(self.notify, why, title=f"Could not {what}", severity="error", timeout=10)
            return
        try:  # this write's own audit events: the next poll must not read everything again
            with reading(self.store) as conn:
                marker: int | None = change_marker(conn)
        except StoreError:
            marker = None
        self.call_from_thread(self._written, result, done, report, marker)

    def _written(self, result: T, done: Callable[[T], object] | None, report: Callable[[T], str] | str | None,
                 marker: int | None) -> None:
        if marker is not None:
            self._marker = marker  # everything up to it is read again below
        if report is not None:
            self.notify(report(result) if callable(report) else report)
        if done is not None:
            done(result)
        self.data_version += 1

    # -- changes made elsewhere -------------------------------------------------

    @work(thread=True, exclusive=True, group="changes")
    def _look_for_changes(self) -> None:
        try:
            with reading(self.store) as conn:
                marker = change_marker(conn)
        except StoreError:
            return  # the screens report unreadable stores themselves
        self.call_from_thread(self._seen, marker)

    def _seen(self, marker: int) -> None:
        if self._marker is not None and marker != self._marker:
            self.data_version += 1
        self._marker = marker
