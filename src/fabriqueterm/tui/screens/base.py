"""What every screen of the app shares: access to the store and the clock, the header, status bar
and footer, background loading in thread workers, and reloading after local writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header
from textual.worker import Worker, WorkerState, get_current_worker

from fabriqueterm.i18n import _
from fabriqueterm.tui.keys import TypingKeys
from fabriqueterm.tui.widgets.footer import TranslatedFooter
from fabriqueterm.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store
    from fabriqueterm.tui.app import FabriqueApp

R = TypeVar("R")


class Loaded(Message):
    """A background query finished: deliver its result on the UI thread."""

    def __init__(self, deliver: Callable[[Any], None], result: Any) -> None:
        super().__init__()
        self.deliver = deliver
        self.result = result


class AppAccess:
    """Typed access to the app's store and clock, for screens and modal screens."""

    @property
    def fabrique(self) -> FabriqueApp:
        return cast("FabriqueApp", self.app)  # type: ignore[attr-defined]

    @property
    def store(self) -> Store:
        return self.fabrique.store

    @property
    def today(self) -> date:
        return self.fabrique.clock.today()

    def load(
        self,
        group: str,
        query: Callable[[], R],
        deliver: Callable[[R], None],
        *,
        debounce: float = 0.0,
    ) -> Worker[None]:
        """Run ``query`` in a thread (one at a time per ``group``: a new call cancels the previous
        one) and hand its result to ``deliver`` on the UI thread. ``debounce`` waits first, so fast
        typing runs only the last query."""
        node = cast(Screen, self)

        def job() -> None:
            worker = get_current_worker()
            if debounce:
                time.sleep(debounce)
            if worker.is_cancelled:
                return
            result = query()
            if not worker.is_cancelled:
                node.post_message(Loaded(deliver, result))

        return node.run_worker(job, thread=True, exclusive=True, group=group, exit_on_error=False)

    def on_loaded(self, message: Loaded) -> None:
        message.stop()
        message.deliver(message.result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            cast(Screen, self).notify(
                str(event.worker.error),
                title=_("Could not read the data"),
                severity="error",
                timeout=8,
            )

    def data_changed(self) -> None:
        """Tell every screen that local data changed (they reload when shown again)."""
        self.fabrique.data_changed()


class FabriqueScreen(TypingKeys, AppAccess, Screen[None]):
    """A full screen of the app: header, body, status bar, footer; its keys as every screen's
    (:mod:`fabriqueterm.tui.keys`)."""

    #: One line shown in the help screen.
    HELP: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._loaded_version = -1

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield from self.compose_body()
        yield StatusBar(id="status-bar")
        yield TranslatedFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def screen_title(self) -> str:
        return ""

    def on_mount(self) -> None:
        self.title = self.screen_title()

    def on_screen_resume(self) -> None:
        version = self.fabrique.data_version
        if version != self._loaded_version:
            self._loaded_version = version
            self.reload()

    def reload(self) -> None:
        """(Re)load what the screen shows; called when it is shown and data changed since."""

    async def redraw(self) -> None:
        """Compose the screen again (after a language switch) and reload its data."""
        await self.recompose()
        self.title = self.screen_title()
        self._loaded_version = -1
        self.on_screen_resume()

    def after_write(self, *_args: object) -> None:
        """Something was saved from this screen: every screen is stale, this one reloads now."""
        self.data_changed()
        self._loaded_version = self.fabrique.data_version
        self.reload()

    def after_form(self, row_id: str | None) -> None:
        if row_id:
            self.after_write()
