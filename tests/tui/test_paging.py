"""PageBook: what a lazy list keeps in memory and what it asks the database for next."""

from __future__ import annotations

from tui.paging import PageBook


def test_memory_is_bounded_and_the_least_recently_used_page_goes() -> None:
    book: PageBook[str] = PageBook(3)
    for page in range(10):
        book.arrived(page, f"rows {page}")
        assert len(book) <= 3
    assert book.get(7) == "rows 7"
    book.arrived(10, "rows 10")
    assert book.get(8) is None  # 8 was the least recently used, 7 was just read
    assert sorted(book.held()) == ["rows 10", "rows 7", "rows 9"]


def test_one_fetch_at_a_time_most_recent_miss_first() -> None:
    book: PageBook[str] = PageBook(4)
    for page in (1, 2, 3):
        book.want(page)
    assert book.next_fetch(range(0, 5)) == 3
    assert book.next_fetch(range(0, 5)) is None  # 3 is still on its way
    book.want(3)  # missed again while on its way: not asked twice
    book.arrived(3, "rows 3")
    assert book.next_fetch(range(0, 5)) == 2
    book.failed()
    assert book.next_fetch(range(0, 5)) == 1


def test_pages_that_scrolled_away_or_arrived_meanwhile_are_not_fetched() -> None:
    book: PageBook[str] = PageBook(4)
    book.want(1)
    book.want(50)
    book.want(2)
    book.arrived(2, "rows 2")
    assert book.next_fetch(range(0, 3)) == 1
    book.arrived(1, "rows 1")
    assert book.next_fetch(range(0, 3)) is None


def test_reset_forgets_pages_and_requests() -> None:
    book: PageBook[str] = PageBook(4)
    book.arrived(0, "rows 0")
    book.want(1)
    assert book.next_fetch(range(0, 2)) == 1
    book.reset()
    assert len(book) == 0
    book.want(1)
    assert book.next_fetch(range(0, 2)) == 1  # the old fetch no longer blocks


def test_grow_never_shrinks() -> None:
    book: PageBook[str] = PageBook(4)
    book.grow(8)
    book.grow(2)
    assert book.maxsize == 8
