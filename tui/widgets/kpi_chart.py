"""Orders per day as one sparkline per channel (and all channels), the day's count as the
bar's height, with the period's total beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

__all__ = ["KpiChart"]

ALL_LABEL = "all"


class KpiChart(Vertical):
    """A line per channel: its code, a sparkline of its orders per day, the total."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._series: dict[str, list[int]] = {}

    @property
    def series(self) -> dict[str, list[int]]:
        return dict(self._series)

    def compose(self) -> ComposeResult:
        rows = dict(self._series)
        if len(rows) > 1:
            rows[ALL_LABEL] = [sum(day) for day in zip(*self._series.values(), strict=True)]
        if not rows:
            yield Label("No orders in this period.", classes="kpi-empty")
        for code, days in rows.items():
            with Horizontal(classes="kpi-spark-row"):
                yield Label(code[:10], classes="kpi-spark-name")
                yield Sparkline([float(n) for n in days], classes="kpi-spark")
                yield Label(f"{sum(days):>6,}", classes="kpi-spark-total")

    def show(self, series: Mapping[str, Sequence[int]]) -> None:
        self._series = {code: list(days) for code, days in series.items()}
        self.refresh(recompose=True)
