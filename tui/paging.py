"""Which pages of a list are in memory, which the screen is missing, which one is on its way.

The bookkeeping behind a lazy list (no Textual, no database): a small LRU of pages, the
pages a redraw missed (most recent last), and at most one fetch in flight.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.cache import LRUCache

__all__ = ["PageBook"]

P = TypeVar("P")


class PageBook(Generic[P]):
    def __init__(self, maxsize: int) -> None:
        self._pages: LRUCache[int, P] = LRUCache(maxsize)
        self._wanted: list[int] = []
        self._inflight: int | None = None

    @property
    def maxsize(self) -> int:
        return self._pages.maxsize

    def grow(self, maxsize: int) -> None:
        """Keep at least `maxsize` pages (never shrinks)."""
        self._pages.grow(maxsize)

    def __len__(self) -> int:
        return len(self._pages)

    def held(self) -> list[P]:
        return [self._pages[key] for key in list(self._pages.keys())]

    def get(self, page: int) -> P | None:
        return self._pages.get(page)

    def reset(self) -> None:
        """Forget every page and every request (a new snapshot makes them meaningless)."""
        self._pages.clear()
        self._wanted.clear()
        self._inflight = None

    def want(self, page: int) -> None:
        if page != self._inflight and page not in self._wanted:
            self._wanted.append(page)

    def next_fetch(self, visible: range) -> int | None:
        """The page to fetch now: the most recently missed one still on screen, unless a
        fetch is already on its way. Missed pages that scrolled away are dropped."""
        if self._inflight is not None:
            return None
        while self._wanted:
            page = self._wanted.pop()
            if page in visible and page not in self._pages:
                self._inflight = page
                return page
        return None

    def arrived(self, page: int, value: P) -> None:
        self._pages.set(page, value)
        if page == self._inflight:
            self._inflight = None

    def failed(self) -> None:
        self._inflight = None
