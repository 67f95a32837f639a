"""What every oms screen shares: the app's store and operator, role-checked keys, reloads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.worker import get_current_worker

from store import Store, StoreError
from store.views.common import reading

from ..access import Operator

if TYPE_CHECKING:
    from ..app import OmsApp

__all__ = ["OmsModal", "OmsScreen"]

R = TypeVar("R")
T = TypeVar("T")


class _Shared:
    """Mixed into both screen kinds. `NEEDS` maps an action name to the role it needs; keys
    for actions the operator's role does not allow are shown greyed out and do nothing."""

    NEEDS: ClassVar[Mapping[str, str]] = {}

    @property
    def oms(self) -> OmsApp:
        return self.app  # type: ignore[attr-defined]

    @property
    def store(self) -> Store:
        return self.oms.store

    @property
    def operator(self) -> Operator:
        return self.oms.operator

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        need = self.NEEDS.get(action)
        if need is not None and not self.oms.operator.may(need):
            return None  # shown, greyed out
        return True

    def on_data_changed(self) -> None:
        """The store changed (a write here, or the gateway ingested): read again what is shown."""

    def read(self, fetch: Callable[[Connection], T], show: Callable[[T], object], *, group: str,
             failed: Callable[[str], object] | None = None, title: str = "Cannot read the store") -> None:
        """Run `fetch(conn)` in a thread worker on a read connection, then `show(result)` on the
        UI thread. A newer read of the same `group` replaces this one (its result is dropped),
        as does the screen going away. A store that cannot be read is reported to `failed(why)`,
        else notified under `title`."""
        node = cast(DOMNode, self)
        node.run_worker(partial(self._read_in_thread, fetch, show, failed, title), thread=True, exclusive=True,
                        group=group)

    def _read_in_thread(self, fetch: Callable[[Connection], T], show: Callable[[T], object],
                        failed: Callable[[str], object] | None, title: str) -> None:
        try:
            with reading(self.store) as conn:
                result = fetch(conn)
        except (StoreError, SQLAlchemyError) as exc:  # fetch may open connections of its own
            why = str(exc)
            if not isinstance(exc, StoreError):
                why = f"cannot read the store: {getattr(exc, 'orig', None) or exc}"
            self._deliver(failed or partial(self._notify_unreadable, title), why)
            return
        self._deliver(show, result)

    def _deliver(self, callback: Callable[[T], object], value: T) -> None:
        if not get_current_worker().is_cancelled:
            self.oms.call_from_thread(partial(self._if_attached, callback, value))

    def _if_attached(self, callback: Callable[[T], object], value: T) -> object:
        # What an async callback returns (it mounts widgets) is awaited by call_from_thread.
        return callback(value) if cast(DOMNode, self).is_attached else None

    def _notify_unreadable(self, title: str, why: str) -> None:
        self.oms.notify(why, title=title, severity="error")


class OmsScreen(_Shared, Screen[None]):
    """A full screen of the app. Override `on_data_changed` to refresh in place; a screen not
    in front (another mode, or under an open order) reads again when it comes back.

    Textual runs `on_mount` of every class along the MRO by itself: a subclass's `on_mount`
    must not call this one (the store would be watched twice, every change read twice)."""

    _stale = False

    def on_mount(self) -> None:
        self.watch(self.app, "data_version", self._changed, init=False)

    def _changed(self, _version: int) -> None:
        if self.is_current:
            self.on_data_changed()
        else:
            self._stale = True

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.on_data_changed()


class OmsModal(_Shared, ModalScreen[R]):
    """A dialog over a screen (a form, a confirmation); dismissed with its result."""

    def close_with(self, result: R) -> None:
        """Dismiss with `result` if this dialog is still the one in front (a write finishing
        after the user closed it, or went elsewhere, must not close another screen)."""
        if self.is_attached and self.app.screen is self:
            self.dismiss(result)
