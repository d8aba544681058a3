"""Keys a person can trust (#12, finding 5): what is typed in a field stays in the field, Esc
leaves a field before it cancels or goes back, and the focus comes back to the row a dialog was
opened from."""

from __future__ import annotations

import pytest
from textual.widgets import Button, DataTable, Input, Select
from tui_helpers import SIZE, TODAY, settle

from fabriqueterm.tui.screens.forms import FormScreen
from fabriqueterm.tui.screens.help import HelpScreen
from fabriqueterm.tui.widgets.virtual_table import VirtualTable

pytestmark = pytest.mark.anyio


async def press(pilot, *keys: str) -> None:  # type: ignore[no-untyped-def]
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def test_typing_digits_and_shortcut_letters_in_a_filter_stays_in_it(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "4", "slash", "2", "0", "2", "6", "q", "question_mark", "n", "e")
        assert app.current_mode == "learners"
        assert not isinstance(app.screen, (HelpScreen, FormScreen))
        assert app.screen.query_one("#filter", Input).value == "2026q?ne"


async def test_digits_on_a_select_of_a_screen_do_not_switch_sections(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3")
        app.screen.query_one("#filter-site", Select).focus()
        await press(pilot, "2", "0", "2", "6", "question_mark")
        assert app.current_mode == "cohorts"
        assert not isinstance(app.screen, HelpScreen)
        # The select's own keys still work, and ctrl+… shortcuts too.
        await press(pilot, "space")
        assert app.screen.query_one("#filter-site", Select).expanded
        await press(pilot, "escape", "escape")
        assert isinstance(app.focused, VirtualTable)


async def test_typing_a_path_with_a_year_in_the_summary_stays_in_the_field(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "9")
        field = app.screen.query_one("#summary-path", Input)
        field.value = ""
        field.focus()
        await press(pilot, *"r2026", "slash", "question_mark", "left_square_bracket")
        assert app.current_mode == "summary"
        assert field.value == "r2026/?["
        # ctrl+t (a ctrl combination) still works while typing.
        theme = app.theme
        await press(pilot, "ctrl+t")
        assert app.theme != theme


async def test_escape_leaves_the_field_then_cancels_the_form(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3", "e")
        assert isinstance(app.screen, FormScreen)
        await press(pilot, "tab")
        assert isinstance(app.focused, Input)
        await press(pilot, "escape")
        assert isinstance(app.screen, FormScreen), "the first Esc only leaves the field"
        assert isinstance(app.focused, Button) and app.focused.id == "form-save"
        await press(pilot, "escape")
        assert not isinstance(app.screen, FormScreen)
        assert isinstance(app.focused, VirtualTable)


async def test_escape_leaves_the_filter_for_the_list_then_back_from_a_detail(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "4", "slash", *"pinto", "escape")
        assert isinstance(app.focused, VirtualTable)
        await press(pilot, "enter")
        detail = app.screen
        assert type(detail).__name__ == "LearnerDetailScreen"
        await press(pilot, "escape")
        assert app.screen is not detail
        assert type(app.screen).__name__ == "LearnersScreen"


async def row_after_a_form(make_app, section: str, closing: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, section, "down", "down", "down")
        table = app.screen.query_one("#list-table", VirtualTable)
        row = app.screen.current_id()
        assert table.cursor_row == 3
        await press(pilot, "e")
        assert isinstance(app.screen, FormScreen)
        await press(pilot, "tab", *closing)
        assert not isinstance(app.screen, FormScreen)
        assert app.focused is table
        assert table.cursor_row == 3
        assert app.screen.current_id() == row


async def test_focus_back_on_the_learner_after_the_form_is_saved(make_app) -> None:
    await row_after_a_form(make_app, "4", ("ctrl+s",))


async def test_focus_back_on_the_learner_after_the_form_is_cancelled(make_app) -> None:
    await row_after_a_form(make_app, "4", ("escape", "escape"))


async def test_focus_back_on_the_cohort_after_the_form_is_saved(make_app) -> None:
    await row_after_a_form(make_app, "3", ("ctrl+s",))


async def test_focus_back_on_the_cohort_after_the_form_is_cancelled(make_app) -> None:
    await row_after_a_form(make_app, "3", ("escape", "escape"))


async def test_focus_back_on_the_follow_up_edited_in_a_learners_file(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "4", "slash", *"pinto", "enter", "enter")
        follow_ups = app.screen.query_one("#learner-follow-ups", DataTable)
        follow_ups.focus()
        # The second follow-up (its attempts are rows beneath the first: Enter leaves them alone).
        keys = [str(row.key.value) for row in follow_ups.ordered_rows]
        second = [i for i, key in enumerate(keys) if not key.startswith("attempt:")][1]
        await press(pilot, *["down"] * second)
        assert follow_ups.cursor_row == second
        await press(pilot, "enter")
        assert isinstance(app.screen, FormScreen)
        await press(pilot, "ctrl+s")
        assert app.focused is follow_ups
        assert follow_ups.cursor_row == second


async def test_a_learners_follow_ups_come_into_view_at_80x24(make_app) -> None:
    """#12, finding 6: at 80x24 the learner's card squeezed the follow-ups into a line or two; the
    file scrolls instead, and a table taking the focus (tab) is brought into view whole."""
    app = make_app()
    store = app.store
    busy = next(  # a learner whose follow-ups and attempts fill more than a few lines
        line.learner.id
        for line in store.follow_ups.due(TODAY, limit=5_000)
        if len(store.follow_ups.for_learner(line.learner.id)) >= 3
        and len(store.follow_ups.attempts.for_learner(line.learner.id)) >= 2
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_learner(busy)
        await settle(pilot)
        detail = app.screen
        assert type(detail).__name__ == "LearnerDetailScreen"
        follow_ups = detail.query_one("#learner-follow-ups", DataTable)
        for _ in range(4):  # placements, then follow-ups (bounded: a few tabs at most)
            if app.focused is follow_ups:
                break
            await press(pilot, "tab")
        assert app.focused is follow_ups
        assert follow_ups.row_count >= 5
        shown = detail.query_one("#learner-detail").region
        table = follow_ups.region
        assert table.height >= min(follow_ups.row_count + 1, 8)  # not squeezed
        assert shown.y <= table.y and table.y + table.height <= shown.y + shown.height
