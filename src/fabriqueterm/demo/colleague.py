"""A simulated colleague for ``fabriqueterm demo``: from time to time, another coordinator holding
the same sites edits a row on the commons, so a newcomer sees changes arrive and can meet a conflict.

The colleague reads the commons' database to choose what to edit (what a real colleague would see
in their own app), and pushes through the real API with its own token and ``client_id``, so every
edit goes through the sync rules exactly like a person's: it can conflict with the newcomer's.

So that a newcomer meets a conflict without waiting for luck, the colleague also watches the demo
app's unsent changes (its outbox, read only): the first time the coordinator changes a learner's
phone, or a follow-up's or placement's notes or outcome, the colleague changes the same field on
the commons at that very moment (what a colleague on the same call would do). When the app syncs,
a few seconds later, the commons meets two values from one base: a conflict, once per run.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, exists, select

from fabriqueterm.demo.words import load_word_lists
from fabriqueterm.domain.followups import default_callback
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server.db import SYNCED_TABLES, make_engine, read_transaction
from fabriqueterm.sync.client import CommonsClient, RetryPolicy, SyncError
from fabriqueterm.sync.protocol import Mutation, MutationStatus, Op, PushRequest

log = logging.getLogger(__name__)

#: Seconds between two edits (drawn from the seeded random generator).
DEFAULT_WAIT = (45.0, 90.0)
#: The colleague only looks at the first rows of what would be on their screen.
_SHORTLIST = 25
_KINDS = ("follow_up", "follow_up", "phone", "placement")
_PLACEMENT_KINDS = ("cdi", "cdd_6m_plus", "apprenticeship", "further_training")
#: Words of follow-up notes that tell more than a plain call (a job, a wrong number).
_NOT_A_PLAIN_CALL = ("cdi", "cdd", "alternance", "intérim", "entreprise", "employeur", "licence", "bts", "essai",
                     "civique", "numéro", "formation")  # fmt: skip
_NO_ANSWER = ("répond", "messagerie", "rappeler", "relance", "pas de réponse", "pas disponible")
#: Seconds between two looks at the app's unsent changes.
WATCH_EVERY = 0.5
#: The fields the colleague changes at the same moment as the coordinator, per entity, in order.
_MET_FIELDS = {
    "learner": ("phone",),
    "follow_up": ("notes", "outcome"),
    "placement": ("notes",),
}
#: French mobile prefixes after +33 that are always valid numbers.
_MOBILE_HEADS = ("60", "61", "62", "64", "65", "66", "67", "68", "75", "76", "77", "78")


@dataclass(frozen=True)
class Edit:
    """What the colleague did: the entity and row, and the push's outcome."""

    entity: str
    row_id: str
    fields: dict[str, Any]
    status: str


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class DemoColleague:
    """Another coordinator editing the commons at ``server_url`` with ``token``."""

    def __init__(
        self,
        database_url: str,
        server_url: str,
        token: str,
        *,
        today: date,
        seed: int = 0,
        client: CommonsClient | None = None,
        app_database: Path | None = None,
    ):
        self.engine: Engine = make_engine(database_url)
        self.client = client or CommonsClient(
            server_url, token, timeout=10.0, retry=RetryPolicy(attempts=3, base=0.5, cap=2.0)
        )
        self.today = today
        self.rng = random.Random(seed)
        self.client_id = uuid7()
        self.seq = 0
        self.edits: list[Edit] = []
        self._notes: list[str] | None = None
        self._job_titles: list[str] | None = None
        #: The demo app's database, whose unsent changes the colleague answers (None: never).
        self.app_database = app_database
        #: The edit that met the coordinator's (one per run).
        self.met: Edit | None = None

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()

    # --- one edit ------------------------------------------------------------------------------

    def edit_once(self, kind: str | None = None) -> Edit | None:
        """Make one plausible edit (``kind``: "follow_up", "phone" or "placement"; random when
        None) and push it. None when there was nothing to edit or the commons cannot be reached."""
        kinds = [kind] if kind else self.rng.sample(_KINDS, len(_KINDS))
        for one in kinds:
            mutation = getattr(self, f"_{one}")()
            if mutation is None:
                continue
            try:
                status = self._push(mutation)
            except SyncError:
                return None
            edit = Edit(mutation.entity, mutation.id, dict(mutation.fields), status)
            self.edits.append(edit)
            return edit
        return None

    # --- the same field at the same moment ---------------------------------------------------

    def meet_pending_edit(self) -> Edit | None:
        """If the coordinator has an unsent change of a field the colleague answers (a learner's
        phone, a follow-up's notes or outcome, a placement's notes), change that field on the
        commons now, to another value, so the app's push meets it: a conflict. Once per run;
        None when there is nothing to meet (or it was met already)."""
        if self.met is not None or self.app_database is None:
            return None
        for entity, row_id, field, mine in self._pending_fields():
            table = SYNCED_TABLES[entity]
            with read_transaction(self.engine) as connection:
                row = connection.execute(select(table).where(table.c.id == row_id)).first()
            if row is None or row.deleted_at is not None:
                continue
            if _plain(row._mapping[field]) == mine:  # the app was quicker: already on the commons
                continue
            theirs = self._other_value(entity, field, mine, row._mapping[field])
            if theirs is None:
                continue
            mutation = self._update(entity, row, {field: theirs})
            try:
                status = self._push(mutation)
            except SyncError:
                return None
            self.met = Edit(entity, row_id, dict(mutation.fields), status)
            self.edits.append(self.met)
            return self.met
        return None

    def _pending_fields(self) -> list[tuple[str, str, str, Any]]:
        """(entity, row id, field, the coordinator's new value) of the app's unsent updates."""
        assert self.app_database is not None
        if not self.app_database.exists():
            return []
        marks = ", ".join("?" for _ in _MET_FIELDS)
        try:
            with sqlite3.connect(f"file:{self.app_database}?mode=ro", uri=True, timeout=1) as db:
                entries = db.execute(
                    "SELECT entity, row_id, fields, base_values FROM outbox WHERE state = 'pending'"
                    f" AND op = 'update' AND entity IN ({marks}) ORDER BY seq",
                    tuple(_MET_FIELDS),
                ).fetchall()
        except sqlite3.Error:  # busy, or not made yet: look again at the next tick
            return []
        found = []
        for entity, row_id, fields, base_values in entries:
            changed, base = json.loads(fields), json.loads(base_values)
            found.extend(
                (entity, row_id, name, changed[name])
                for name in _MET_FIELDS[entity]
                if name in changed and changed[name] != base.get(name)  # really changed
            )
        return found

    def _other_value(self, entity: str, field: str, mine: Any, current: Any) -> Any:
        """A plausible value of ``field`` that is neither the coordinator's nor the commons'."""
        if field == "phone":
            while True:
                phone = f"+33{self.rng.choice(_MOBILE_HEADS)}{self.rng.randrange(10_000_000):07d}"
                if phone not in (mine, current):
                    return phone
        if field == "outcome":  # how the follow-up closed: the colleague heard otherwise
            others = [o for o in ("declined", "reached") if o not in (mine, current)]
            return others[0] if others else None
        notes = [n for n in self._note_pool("reached") if n not in (mine, current)]
        return self.rng.choice(notes) if notes else None

    def _push(self, mutation: Mutation) -> str:
        for _attempt in range(3):
            self.seq += 1
            request = PushRequest(
                client_id=self.client_id, mutations=[mutation.model_copy(update={"seq": self.seq})]
            )
            result = self.client.push(request).results[0]
            if result.status == MutationStatus.GAP and result.expected_seq:
                self.seq = result.expected_seq - 1
                continue
            return result.status.value
        return MutationStatus.GAP.value

    def _pick(self, statement: Any) -> Any:
        with read_transaction(self.engine) as connection:
            rows = connection.execute(statement.limit(_SHORTLIST)).all()
        return self.rng.choice(rows) if rows else None

    def _follow_up(self) -> Mutation | None:
        """Log a follow-up of the queue (due, not done) as done today."""
        table = SYNCED_TABLES["follow_up"]
        row = self._pick(
            select(table)
            .where(
                table.c.deleted_at.is_(None),
                table.c.done_date.is_(None),
                table.c.due_date <= self.today,
            )
            .order_by(table.c.due_date.desc(), table.c.id)
        )
        if row is None:
            return None
        outcome = self.rng.choice(("reached", "reached", "reached", "no_answer"))
        notes = self.rng.choice(self._note_pool(outcome)) if self.rng.random() < 0.7 else ""
        if outcome == "reached":  # closes it: the colleague wrote what was said
            new = {"done_date": self.today, "channel": "phone", "outcome": outcome, "notes": notes}
            return self._update("follow_up", row, new)
        # An unanswered call is an attempt of its own, with its call-back date.
        current = row._mapping
        fields = {
            "site_id": current["site_id"],
            "learner_id": current["learner_id"],
            "follow_up_id": current["id"],
            "attempted_on": self.today.isoformat(),
            "channel": "phone",
            "outcome": outcome,
            "callback_date": default_callback(self.today).isoformat(),
            "situation": "",
            "notes": notes,
            "made_by": "",
        }
        return Mutation(seq=1, entity="follow_up_attempt", id=uuid7(), op=Op.CREATE, fields=fields)

    def _phone(self) -> Mutation | None:
        """Correct a learner's phone number (a new mobile)."""
        table = SYNCED_TABLES["learner"]
        row = self._pick(
            select(table)
            .where(
                table.c.deleted_at.is_(None),
                table.c.phone.is_not(None),
                table.c.status == "enrolled",
            )
            .order_by(table.c.updated_at.desc(), table.c.id)
        )
        if row is None:
            return None
        phone = f"+33{self.rng.choice(_MOBILE_HEADS)}{self.rng.randrange(10_000_000):07d}"
        return self._update("learner", row, {"phone": phone})

    def _placement(self) -> Mutation | None:
        """Record that a learner who finished recently found a job or a training."""
        learner = SYNCED_TABLES["learner"]
        placement = SYNCED_TABLES["placement"]
        cohort = SYNCED_TABLES["cohort"]
        row = self._pick(
            select(learner.c.id, learner.c.site_id, cohort.c.end_date)
            .join(cohort, cohort.c.id == learner.c.cohort_id)
            .where(
                learner.c.deleted_at.is_(None),
                learner.c.status.in_(("graduated", "certified")),
                cohort.c.end_date <= self.today,
                ~exists().where(
                    and_(placement.c.learner_id == learner.c.id, placement.c.deleted_at.is_(None))
                ),
            )
            .order_by(cohort.c.end_date.desc(), learner.c.id)
        )
        if row is None:
            return None
        kind = self.rng.choice(_PLACEMENT_KINDS)
        start = max(row.end_date, self.today - timedelta(days=self.rng.randint(0, 20)))
        fields = {
            "site_id": row.site_id,
            "learner_id": row.id,
            "kind": kind,
            "partner_id": None,
            "job_title": "" if kind == "further_training" else self.rng.choice(self._title_pool()),
            "start_date": start.isoformat(),
            "source_followup_id": None,
            "notes": "",
        }
        return Mutation(seq=1, entity="placement", id=uuid7(), op=Op.CREATE, fields=fields)

    def _update(self, entity: str, row: Any, new: dict[str, Any]) -> Mutation:
        current = row._mapping
        return Mutation(
            seq=1,
            entity=entity,
            id=current["id"],
            op=Op.UPDATE,
            fields={k: _plain(v) for k, v in new.items()},
            base_version=current["version"],
            base_values={k: _plain(current[k]) for k in new},
        )

    def _note_pool(self, outcome: str) -> list[str]:
        """Notes that fit ``outcome``: no job news (no placement is made with them)."""
        if self._notes is None:
            notes = load_word_lists().followup_notes
            self._notes = [
                n for n in notes if not any(word in n.lower() for word in _NOT_A_PLAIN_CALL)
            ] or notes
        no_answer = [n for n in self._notes if any(word in n.lower() for word in _NO_ANSWER)]
        reached = [n for n in self._notes if n not in no_answer]
        return (no_answer if outcome == "no_answer" else reached) or self._notes

    def _title_pool(self) -> list[str]:
        if self._job_titles is None:
            self._job_titles = load_word_lists().job_titles
        return self._job_titles

    # --- the loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, wait: tuple[float, float] = DEFAULT_WAIT) -> None:
        """Edit every ``wait`` seconds (seeded draw), and meet the coordinator's first answered
        change (:meth:`meet_pending_edit`), until ``stop`` is set."""
        try:
            next_edit = time.monotonic() + self.rng.uniform(*wait)
            while not stop.wait(WATCH_EVERY if self.app_database else wait[0]):
                try:
                    self.meet_pending_edit()
                    if time.monotonic() >= next_edit:
                        self.edit_once()
                        next_edit = time.monotonic() + self.rng.uniform(*wait)
                except Exception:  # a demo helper never crashes the app it runs beside
                    log.exception("the demo colleague could not edit")
        finally:
            self.close()


def start_colleague(
    database_url: str,
    server_url: str,
    token: str,
    *,
    today: date,
    seed: int = 0,
    wait: tuple[float, float] = DEFAULT_WAIT,
    app_database: Path | None = None,
) -> tuple[threading.Thread, threading.Event]:
    """Run a :class:`DemoColleague` in a daemon thread; set the returned event to stop it.
    ``app_database``: the demo app's database, whose first answered change it meets."""
    colleague = DemoColleague(
        database_url, server_url, token, today=today, seed=seed, app_database=app_database
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=colleague.run,
        args=(stop,),
        kwargs={"wait": wait},
        name="demo-colleague",
        daemon=True,
    )
    thread.start()
    return thread, stop
