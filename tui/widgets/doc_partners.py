"""The trading partners beside the document list: all of them, or one, with each partner's
documents in, out, rejected and waiting for a 997."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from store.views.documents import PartnerRow

__all__ = ["ALL_PARTNERS", "DocPartners"]

ALL_PARTNERS = "*"


def _prompt(row: PartnerRow | None, active: bool) -> Text:
    if row is None:
        text = Text("All partners")
    else:
        text = Text(row.code + ("" if row.active else " (inactive)"))
        text.append(f"\n in {row.inbound:,} out {row.outbound:,}", style="dim")
        if row.rejected:
            text.append(f" rej {row.rejected:,}", style="dim")
        if row.awaiting_ack:
            text.append(f" 997? {row.awaiting_ack:,}", style="dim")
    if active:
        text.stylize("bold", 0, len(row.code) if row is not None else None)
    return text


class DocPartners(OptionList):
    """"All partners" then one entry per partner; choosing one limits the list to it."""

    class Chosen(Message):
        """The user picked a partner (`code`), or every partner (None)."""

        def __init__(self, partners: DocPartners, code: str | None) -> None:
            super().__init__()
            self.partners, self.code = partners, code

        @property
        def control(self) -> DocPartners:
            return self.partners

    def __init__(self, *, id: str | None = None) -> None:
        self._rows: tuple[PartnerRow, ...] = ()
        self._active: str | None = None
        super().__init__(Option(_prompt(None, True), id=ALL_PARTNERS), id=id)

    @property
    def partners(self) -> tuple[PartnerRow, ...]:
        return self._rows

    def show(self, rows: Sequence[PartnerRow]) -> None:
        """List `rows` (keeping the highlight on the same partner)."""
        self._rows = tuple(rows)
        highlighted = self.highlighted
        self.clear_options()
        self.add_options([Option(_prompt(None, self._active is None), id=ALL_PARTNERS),
                          *(Option(_prompt(r, r.code == self._active), id=r.code) for r in self._rows)])
        if highlighted is not None:
            self.highlighted = min(highlighted, self.option_count - 1)

    def mark(self, code: str | None) -> None:
        self._active = code
        self.show(self._rows)
        self.highlighted = self.get_option_index(code or ALL_PARTNERS) if (
            code is None or any(r.code == code for r in self._rows)) else 0

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        code = event.option.id
        self.post_message(self.Chosen(self, None if code in (None, ALL_PARTNERS) else code))
