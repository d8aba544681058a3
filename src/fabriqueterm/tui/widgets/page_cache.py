"""The virtual table's page cache: the pages of rows it holds (a bounded LRU), those seeded in part,
being read, wanted or failed; and the messages its reading thread posts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic

from textual.cache import LRUCache
from textual.message import Message

from fabriqueterm.tui.widgets.table_rows import Row

#: A row with its cells (made in the thread that read it).
Entry = tuple[Row, Sequence[Any]]


class PageCache(Generic[Row]):
    """Pages of ``page_size`` rows, at most ``max_pages`` of them: the least recently used page
    goes first, never one in view (see :meth:`keep`)."""

    def __init__(self, page_size: int, max_pages: int) -> None:
        self.page_size = page_size
        self.pages: LRUCache[int, list[Entry[Row]]] = LRUCache(max_pages)
        #: Pages seeded with their first rows only (read again in full when scrolled to).
        self.partial: set[int] = set()
        self.loading: set[int] = set()
        self.wanted: set[int] = set()
        #: Pages whose reading failed: not tried again before the next reset.
        self.failed: set[int] = set()

    def __len__(self) -> int:
        return len(self.pages)

    def clear(self) -> None:
        self.pages.clear()
        self.partial.clear()
        self.loading.clear()
        self.wanted.clear()
        self.failed.clear()

    def seed(self, entries: Sequence[Entry[Row]], offset: int, total: int) -> None:
        """Hold ``entries`` read from ``offset`` (the first row of a page) of ``total`` rows."""
        size = self.page_size
        for start in range(0, len(entries), size):
            chunk = list(entries[start : start + size])
            page = offset // size + start // size
            self.pages.set(page, chunk)
            # A short chunk is a whole page only at the end of the list.
            if len(chunk) < size and offset + start + len(chunk) < total:
                self.partial.add(page)

    def entry(self, index: int) -> Entry[Row] | None:
        """The row at ``index`` and its cells if loaded, its page marked as recently used."""
        page, position = divmod(index, self.page_size)
        entries = self.pages.get(page)
        if entries is None:
            return None
        return entries[position] if position < len(entries) else None

    def needs(self, page: int) -> bool:
        """True when ``page`` is not held, or held in part."""
        return page not in self.pages or page in self.partial

    def held(self, page: int) -> int:
        """How many rows of ``page`` are held."""
        return len(self.pages[page]) if page in self.pages else 0

    def keep(self, page: int, rows: list[Entry[Row]], in_view: range) -> None:
        """Hold ``page``, read in full: the least recently used page beyond the bound goes, never
        one ``in_view`` (they are marked as used first)."""
        self.loading.discard(page)
        self.partial.discard(page)
        for shown in in_view:
            self.pages.get(shown)
        # LRUCache.set keeps the value of a key it holds: a page seeded in part is replaced.
        self.pages.discard(page)
        self.pages.set(page, rows)


class PageLoaded(Message, bubble=False, namespace="virtual_table"):
    def __init__(self, generation: int, page: int, rows: list[Any]) -> None:
        super().__init__()
        self.generation, self.page, self.rows = generation, page, rows


class PagesFailed(Message, bubble=False, namespace="virtual_table"):
    def __init__(self, generation: int, pages: list[int], error: Exception) -> None:
        super().__init__()
        self.generation, self.pages, self.error = generation, pages, error
