"""The virtual table: list screens scroll through every row, read page by page in the background.

The app tests run on a demo network of 1,000 learners (ten pages of the table's cache); the widget
tests host the table alone in a small app, its rows read from a Python list."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Input, Static
from tui_helpers import SIZE, TODAY, settle

from fabriqueterm import demo
from fabriqueterm.domain.dates import Clock
from fabriqueterm.store import Store
from fabriqueterm.tui.screens.learners import LearnerDetailScreen, LearnersScreen
from fabriqueterm.tui.widgets.virtual_table import PLACEHOLDER, Column, VirtualTable

pytestmark = pytest.mark.anyio

LEARNERS = 1000


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo network bigger than the table's page cache page (replaces the 300-learner one)."""
    path = tmp_path_factory.mktemp("template-1000") / "demo.sqlite3"
    with Store.open(path, clock=Clock(TODAY)) as store:
        demo.write(store, demo.generate(learners=LEARNERS, seed=7, today=TODAY))
    return path


def shown_lines(table: VirtualTable) -> list[str]:  # type: ignore[type-arg]
    """The text of the table's rows in view, as rendered (header excluded)."""
    return [table.render_line(y).text.strip() for y in range(1, table.visible_height + 1)]


def learner_label(learner) -> str:  # type: ignore[no-untyped-def]
    return f"{learner.last_name.upper()} {learner.first_name}"


async def open_learners(pilot) -> LearnersScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LearnersScreen)
    return screen


async def test_end_scrolls_to_the_last_learners_of_a_list_of_many_pages(make_app) -> None:
    app = make_app()
    everyone = app.store.learners.page(limit=LEARNERS)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learners(pilot)
        table = screen.table
        assert table.row_count == everyone.total == LEARNERS > 3 * table.page_size
        assert str(screen.query_one("#list-count", Static).content) == "1,000 learners"
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == LEARNERS - 1
        assert screen.current_id() == everyone.rows[-1].id
        lines = shown_lines(table)
        assert lines[-1].startswith(learner_label(everyone.rows[-1]))
        assert lines[0].startswith(learner_label(everyone.rows[LEARNERS - table.visible_height]))
        await pilot.press("home")
        await settle(pilot)
        assert shown_lines(table)[0].startswith(learner_label(everyone.rows[0]))


async def test_the_cursor_moves_and_enter_opens_the_learner_under_it(make_app) -> None:
    app = make_app()
    everyone = app.store.learners.page(limit=LEARNERS).rows
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learners(pilot)
        table = screen.table
        await pilot.press("down", "down", "down", "up")
        assert table.cursor_row == 2
        await pilot.press(*["pagedown"] * 5)  # past the first page of the cache
        await settle(pilot)
        index = 2 + 5 * table.visible_height
        assert index > table.page_size and table.cursor_row == index
        assert index in table.visible_range()
        assert screen.current_id() == everyone[index].id
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LearnerDetailScreen)
        assert app.screen.learner_id == everyone[index].id


async def test_a_click_highlights_a_row_and_a_second_click_opens_it(make_app) -> None:
    app = make_app()
    everyone = app.store.learners.page(limit=10).rows
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learners(pilot)
        table = screen.table
        await pilot.click(table, offset=(5, 1 + 4))  # below the header: the fifth row
        await settle(pilot)
        assert table.cursor_row == 4
        assert isinstance(app.screen, LearnersScreen)
        await pilot.click(table, offset=(5, 1 + 4))
        await settle(pilot)
        assert isinstance(app.screen, LearnerDetailScreen)
        assert app.screen.learner_id == everyone[4].id


async def test_filtering_changes_the_total_and_the_rows(make_app) -> None:
    app = make_app()
    store = app.store
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learners(pilot)
        table = screen.table
        await pilot.press("end")
        await settle(pilot)
        await pilot.press("slash", *"mar")
        await settle(pilot)
        matching = store.learners.page("mar", limit=LEARNERS)
        assert 0 < matching.total < LEARNERS
        assert table.row_count == matching.total
        assert str(screen.query_one("#list-count", Static).content).startswith(
            f"{matching.total} learner"
        )
        assert table.cursor_row == 0  # a new filter starts from the top
        assert shown_lines(table)[0].startswith(learner_label(matching.rows[0]))
        await pilot.press("escape", "end")  # scrolls through every match, not a capped page
        await settle(pilot)
        assert screen.current_id() == matching.rows[-1].id
        screen.query_one("#filter", Input).value = ""
        await settle(pilot)
        assert table.row_count == LEARNERS


async def test_no_placeholder_stays_once_the_pages_are_read(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learners(pilot)
        table = screen.table
        for keys in (["end"], ["pageup"] * 4, ["home"], ["pagedown"] * 7):
            await pilot.press(*keys)
            await settle(pilot)
            assert not table.is_loading
            assert all(table.row_at(index) is not None for index in table.visible_range())
            lines = shown_lines(table)
            assert len(lines) == table.visible_height and PLACEHOLDER not in lines


async def test_the_cursor_stays_on_its_learner_when_the_list_is_read_again(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_learners(pilot)
        await pilot.press(*["pagedown"] * 4, "down")
        await settle(pilot)
        before = screen.current_id()
        index = screen.table.cursor_row
        screen.after_write()  # what a saved form does
        await settle(pilot)
        assert screen.table.cursor_row == index and screen.current_id() == before
        first = app.store.learners.page(limit=1).rows[0]
        app.store.learners.delete(first.id)  # every row moves up by one
        screen.after_write()
        await settle(pilot)
        assert screen.table.row_count == LEARNERS - 1
        assert screen.table.cursor_row == index - 1 and screen.current_id() == before


# --- the widget alone --------------------------------------------------------------------


class TableApp(App[None]):
    """The table over ``rows``, read through ``fetch`` (which records the offsets asked)."""

    def __init__(
        self, rows: list[str], *, page_size: int = 10, max_pages: int = 4, read_ahead: float = 10.0
    ) -> None:
        super().__init__()
        self.rows = rows
        self.read_ahead = read_ahead
        self.reads: list[int] = []
        self.selected: list[int] = []
        self.failures: list[str] = []
        self.page_size, self.max_pages = page_size, max_pages

    def compose(self) -> ComposeResult:
        table: VirtualTable[str] = VirtualTable(
            [Column("Name", "name", 12), Column("Size", "size")],
            lambda row: (row, Text(str(len(row)), justify="right")),
            page_size=self.page_size,
            max_pages=self.max_pages,
        )
        table.READ_AHEAD_DELAY = self.read_ahead  # 10 s: never within a test, unless asked
        yield table

    def fetch(self, offset: int, limit: int) -> Sequence[str]:
        self.reads.append(offset)
        return self.rows[offset : offset + limit]

    def on_mount(self) -> None:
        self.query_one(VirtualTable).reset(len(self.rows), self.fetch)

    def on_virtual_table_row_selected(self, message: VirtualTable.RowSelected) -> None:
        self.selected.append(message.index)

    def on_virtual_table_fetch_failed(self, message: VirtualTable.FetchFailed) -> None:
        self.failures.append(str(message.error))


def names(count: int) -> list[str]:
    return [f"row {index:04}" for index in range(count)]


async def test_the_page_cache_stays_bounded_and_reads_only_around_the_view() -> None:
    app = TableApp(names(1000))
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        await settle(pilot)
        assert table.visible_range() == range(0, 11)
        assert sorted(app.reads) == [0, 10]  # the two pages in view, nothing ahead yet
        for _ in range(30):
            await pilot.press("pagedown")
            await settle(pilot)
            assert len(table._pages) <= app.max_pages
        assert table.cursor_row == 30 * table.visible_height
        assert len(app.reads) < 1000 // app.page_size  # never the whole list
        await pilot.press("end")
        await settle(pilot)
        assert shown_lines(table)[-1].startswith("row 0999")
        assert table.row_at(0) is None  # evicted long ago
        await pilot.press("home")
        await settle(pilot)
        first = shown_lines(table)[0]
        assert first.startswith("row 0000 ") and first.endswith(
            " 8"
        )  # read again; numbers on the right


async def test_once_the_view_stays_put_the_pages_around_it_are_read_ahead() -> None:
    app = TableApp(names(1000), read_ahead=0.001)
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        await settle(pilot)
        assert sorted(app.reads) == [0, 10, 20]  # the two pages in view and the next one
        await pilot.press(*["pagedown"] * 5)
        await settle(pilot)
        assert table.visible_range() == range(45, 56)
        assert sorted(app.reads) == [
            0,
            10,
            20,
            30,
            40,
            50,
            60,
        ]  # each page once; 60: just after the view
        assert not table.is_loading


async def test_a_long_value_is_cropped_at_a_word_with_an_ellipsis() -> None:
    app = TableApp(["a name far too long for its column", "short"])
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(pilot)
        table = app.query_one(VirtualTable)
        long, short = shown_lines(table)[:2]
        # Cut at the last whole word (never inside one: #12, finding 6).
        assert long.startswith("a name far… ") and long.endswith(" 34")
        assert short.startswith("short ") and short.endswith(" 5")


async def test_enter_on_a_row_still_loading_selects_it_when_it_arrives() -> None:
    app = TableApp(names(500))
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        await settle(pilot)
        table.action_last()  # end, then enter at once: the last page is not read yet
        assert table.row_at(499) is None
        table.action_select_cursor()
        assert app.selected == []
        await settle(pilot)
        assert app.selected == [499]


async def test_a_list_that_shrank_since_it_was_counted_ends_at_its_last_row() -> None:
    app = TableApp(names(100))
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        await settle(pilot)
        del app.rows[45:]  # rows deleted after the count
        await pilot.press("end")
        await settle(pilot)
        assert table.row_count == 45
        assert table.cursor_row == 44
        assert PLACEHOLDER not in shown_lines(table)


async def test_a_failed_read_is_reported_and_leaves_placeholders() -> None:
    app = TableApp(names(100))
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        await settle(pilot)

        def broken(offset: int, limit: int) -> Sequence[str]:
            raise OSError("disk I/O error")

        table.reset(100, broken)
        await settle(pilot)
        assert app.failures == ["disk I/O error"]  # once, not at every repaint
        assert shown_lines(table)[0] == PLACEHOLDER
        assert table.row_at(0) is None and not table.is_loading
        await pilot.press("pagedown", "pagedown")  # to rows 12-22: pages 1 (failed) and 2 (new)
        await settle(pilot)
        assert app.failures == ["disk I/O error"] * 2  # page 2 failed as well


async def test_reset_with_the_first_rows_shows_them_without_reading() -> None:
    app = TableApp(names(100))
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        await settle(pilot)
        app.reads.clear()
        other = [f"other {index}" for index in range(30)]
        table.reset(
            30, lambda offset, limit: other[offset : offset + limit], rows=other[:5], cursor=3
        )
        assert table.row_at(3) == "other 3" and table.row_at(5) is None
        assert table.cursor_row == 3
        await settle(pilot)
        assert shown_lines(table)[5].startswith("other 5")  # the rest of the page, read after
        assert app.reads == []  # the old fetch was not used again
