"""The sync engine: push the outbox, then pull every page, as docs/sync.md says.

Headless and synchronous: the command line calls :func:`sync_once`; the TUI calls it from a thread
worker and shows :func:`sync_status`. Every local write goes through
:class:`fabriqueterm.store.replica.Replica`, one transaction per push answer or pull page, so a
sync cut at any instant can simply be run again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from fabriqueterm.domain.dates import utcnow
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.i18n import _, ngettext
from fabriqueterm.store.replica import Change, Replica
from fabriqueterm.sync.client import CommonsClient
from fabriqueterm.sync.errors import MalformedAnswer, ServerBehind, SyncError, SyncErrorKind
from fabriqueterm.sync.protocol import (
    MAX_PUSH_BYTES,
    MAX_PUSH_MUTATIONS,
    PULL_LIMIT_MAX,
    Mutation,
    MutationStatus,
    PullRequest,
    PullResponse,
    PushRequest,
)

if TYPE_CHECKING:
    from fabriqueterm.store.db import Store
    from fabriqueterm.store.outbox import OutboxEntry

#: progress(phase, done, total): phase is "push" or "pull"; total None when unknown.
Progress = Callable[[str, int, int | None], None]

#: Room left in a push body for the envelope around the mutations.
_ENVELOPE_BYTES = 4096
#: A sync never loops forever, whatever the server answers.
_MAX_ROUNDS = 100_000

_LAST_SUCCESS = "sync:last_success"
_LAST_ATTEMPT = "sync:last_attempt"
_LAST_ERROR = "sync:last_error"
_LAST_ERROR_KIND = "sync:last_error_kind"
_ONLINE = "sync:online"
_SEQ_OFFSET = "sync:seq_offset"
#: After pulling this many rows, the write-ahead log is checkpointed once at the end.
_CHECKPOINT_ROWS = 10_000


@dataclass
class SyncReport:
    """What one sync did. ``ok`` only when everything went through."""

    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    rejected: int = 0
    removed: int = 0
    erased: int = 0
    #: Rows kept although their site was revoked or they left scope: they have pending edits.
    kept: list[tuple[str, str]] = field(default_factory=list)
    evicted_sites: list[str] = field(default_factory=list)
    backfilled_sites: list[str] = field(default_factory=list)
    round_trips: int = 0
    #: The commons had lost this database's numbering: the outbox was re-sent under a new client_id.
    rebound: bool = False
    #: The commons was restored since the last pull: the push waited for the pull.
    pull_first: bool = False
    #: Sites pulled again because the commons was restored from a backup.
    restored_sites: list[str] = field(default_factory=list)
    #: Rows this database held that the restored commons lacked, queued to be sent again.
    sent_again: int = 0
    errors: list[str] = field(default_factory=list)
    #: The kind of the error that stopped the sync (see :mod:`fabriqueterm.sync.errors`), or None.
    error_kind: SyncErrorKind | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and not self.rejected

    def summary(self) -> str:
        """One line for a person."""
        text = _(
            "{pushed} sent, {pulled} received, {conflicts} conflicts, {rejected} rejected"
        ).format(
            pushed=self.pushed, pulled=self.pulled, conflicts=self.conflicts, rejected=self.rejected
        )
        if self.kept:
            text += "; " + _(
                "{count} rows with unsent edits kept from sites no longer yours"
            ).format(count=len(self.kept))
        if self.sent_again:
            text += "; " + ngettext(
                "the commons was restored from a backup: {count} edit it had lost sent again",
                "the commons was restored from a backup: {count} edits it had lost sent again",
                self.sent_again,
            ).format(count=self.sent_again)
        if self.errors:
            text += "; " + _("not finished: {error}").format(error=self.errors[-1])
        return text


@dataclass(frozen=True)
class SyncStatus:
    """What a status area shows, read from the local database."""

    #: True/False after the last attempt reached / did not reach the commons; None: never tried.
    online: bool | None
    pending: int
    rejected: int
    conflicts_open: int
    last_success: datetime | None
    last_attempt: datetime | None
    last_error: str | None
    last_error_kind: SyncErrorKind | None


def sync_status(store: Store) -> SyncStatus:
    """The sync state of ``store``: pending edits, open conflicts, the last outcome."""
    replica = Replica(store)
    counts = replica.counts()
    online = replica.get_meta(_ONLINE)
    return SyncStatus(
        online=None if online is None else online == "1",
        pending=counts["pending"],
        rejected=counts["rejected"],
        conflicts_open=counts["conflicts"],
        last_success=_stamp(replica.get_meta(_LAST_SUCCESS)),
        last_attempt=_stamp(replica.get_meta(_LAST_ATTEMPT)),
        last_error=replica.get_meta(_LAST_ERROR) or None,
        last_error_kind=SyncErrorKind.from_stored(replica.get_meta(_LAST_ERROR_KIND)),
    )


def _stamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def sync_once(
    store: Store,
    server_url: str,
    token: str,
    *,
    progress: Progress | None = None,
    client: CommonsClient | None = None,
    push_batch: int = MAX_PUSH_MUTATIONS,
    pull_limit: int = PULL_LIMIT_MAX,
) -> SyncReport:
    """One full sync: push the whole outbox, then pull until nothing remains. Never raises a
    :class:`SyncError`: the report says what happened, and the outcome is remembered in the store
    for :func:`sync_status`."""
    own = client is None
    commons = client or CommonsClient(server_url, token)
    report = SyncReport()
    engine = SyncEngine(
        store, commons, progress=progress, push_batch=push_batch, pull_limit=pull_limit
    )
    before = commons.requests
    try:
        engine.push(report)
        engine.pull(report)
        if report.pull_first or report.sent_again:
            # The push a restored commons refused, and what it lacked (queued by the pull).
            engine.push(report)
    except SyncError as error:
        report.errors.append(str(error))
        report.error_kind = error.kind
    finally:
        report.round_trips = commons.requests - before
        if own:
            commons.close()
    # Wall-clock time, not the store's clock: "last sync" says when it really happened, even when
    # the app pretends another day (--today, the demo).
    now = utcnow().isoformat()
    outcome = {
        _LAST_ATTEMPT: now,
        _ONLINE: "0" if report.error_kind is not None and report.error_kind.offline else "1",
    }
    if report.errors:
        outcome[_LAST_ERROR] = report.errors[-1]
        outcome[_LAST_ERROR_KIND] = (report.error_kind or SyncErrorKind.ERROR).value
    else:
        outcome.update({_LAST_SUCCESS: now, _LAST_ERROR: "", _LAST_ERROR_KIND: ""})
    engine.replica.record_outcome(outcome)
    return report


class SyncEngine:
    """Push and pull for one local database over one :class:`CommonsClient`."""

    def __init__(
        self,
        store: Store,
        client: CommonsClient,
        *,
        progress: Progress | None = None,
        push_batch: int = MAX_PUSH_MUTATIONS,
        pull_limit: int = PULL_LIMIT_MAX,
    ):
        self.store = store
        self.client = client
        self.replica = Replica(store)
        self.progress = progress or (lambda phase, done, total: None)
        self.push_batch = max(1, min(push_batch, MAX_PUSH_MUTATIONS))
        self.pull_limit = pull_limit

    # --- push ----------------------------------------------------------------------------------

    def push(self, report: SyncReport) -> None:
        """Send the outbox in ``seq`` order, batch after batch, until nothing is pending."""
        total = self.store.outbox.count("pending")
        done = 0
        self.progress("push", 0, total)
        rebound = False
        for _round in range(_MAX_ROUNDS):
            entries = self.store.outbox.entries(state="pending", limit=self.push_batch)
            if not entries:
                return
            # Local numbers minus an offset are the wire numbers (non-zero after a rebind, below).
            offset = int(self.replica.get_meta(_SEQ_OFFSET) or 0)
            client_id = self.replica.get_meta("client_id") or self.store.client_id
            try:
                mutations = _batch(entries, offset)
                request = PushRequest(
                    client_id=client_id,
                    mutations=mutations,
                    epoch=self.replica.known_epoch(),
                )
            except ValidationError:
                raise SyncError(
                    _(
                        "Local change number {seq} cannot be sent (damaged?); export the changes waiting to be sent (“fabriqueterm sync --export-outbox FILE”) and ask for help."
                    ).format(seq=entries[0].seq)
                ) from None
            answer = self.client.push(request)
            if answer.restored:
                # Restored from a backup since the last pull: the pull comes first (it queues what
                # the commons lost), then the push again (sync_once).
                report.pull_first = True
                return
            sent = {m.seq for m in mutations}
            results = answer.results
            if len(results) != len(mutations) or any(r.seq not in sent for r in results):
                raise MalformedAnswer(
                    _(
                        "The commons answered a push with results that do not match it; nothing was changed locally."
                    )
                )
            acknowledged: list[int] = []
            rejected: dict[int, str] = {}
            rows: list[Change] = []
            gap: int | None = None
            for result in results:
                result.seq += offset
                if result.status == MutationStatus.GAP:
                    gap = result.expected_seq if gap is None else gap
                    continue
                if result.status == MutationStatus.REJECTED:
                    rejected[result.seq] = json.dumps(
                        [e.model_dump() for e in result.errors], ensure_ascii=False
                    )
                    report.rejected += 1
                else:
                    acknowledged.append(result.seq)
                    report.conflicts += len(result.conflicts)
                if result.row is not None:
                    rows.append(Change(result.entity, result.id, result.row))
            self.replica.acknowledge(acknowledged, rejected, rows)
            report.pushed += len(acknowledged)
            done += len(acknowledged) + len(rejected)
            self.progress("push", done, total)
            if gap is not None and (gap < mutations[0].seq or not (acknowledged or rejected)):
                # The commons expects numbers this database no longer has (restored from a backup):
                # start again under a new client_id from the first pending entry; base values make
                # re-applying anything it still has safe (docs/sync.md).
                if not rebound:
                    rebound = True
                    self.replica.rebind_client(uuid7(), entries[0].seq - 1)
                    self.store.__dict__.pop("client_id", None)  # Store caches it
                    report.rebound = True
                    continue
                raise ServerBehind(
                    _(
                        "The commons expects change number {expected} but this computer is at {first}: it may have been restored from a backup. Your unsent edits are kept."
                    ).format(expected=gap, first=mutations[0].seq)
                )
        raise SyncError(_("The push did not end; try again."))

    # --- pull ----------------------------------------------------------------------------------

    def pull(self, report: SyncReport) -> None:
        """Pull every page, each applied with its cursors in one local transaction.

        The next page is fetched while the current one is applied (its cursors are known before
        it is applied); a page that fails to apply is never followed, and the fetched one is
        dropped: cursors only move with the data they cover.
        """
        cursors = self.replica.cursors()
        # The commons' restore epoch last stored (None before the first pull that brought one).
        epoch = self.replica.known_epoch()
        # Sites pulled from the start (first sync, a newly granted site): their rows are not news
        # to record in the learners' histories.
        backfilling = set()
        self.progress("pull", 0, None)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull") as fetcher:
            upcoming: Future[PullResponse] | None = None
            try:
                for _round in range(_MAX_ROUNDS):
                    if upcoming is not None:
                        page = upcoming.result()
                        upcoming = None
                    else:
                        page = self._fetch(cursors, epoch)
                    granted = set(page.sites)
                    evict = sorted({s for s in cursors if s not in granted} | set(page.not_granted))
                    resync = [s for s in page.resync_required if s in granted]
                    restored = [s for s in page.restored if s in resync]
                    next_cursors = {s: c for s, c in page.cursors.items() if s in granted}
                    epoch = page.epoch
                    if page.more and not resync:
                        upcoming = fetcher.submit(self._fetch, next_cursors, epoch)
                    report.backfilled_sites.extend(
                        s
                        for s in page.sites
                        if s not in cursors and s not in report.backfilled_sites
                    )
                    backfilling |= {s for s in page.sites if s not in cursors or s in resync}
                    applied = self.replica.apply_page(
                        page.changes,  # PulledChange has Change's attributes: no copy of 5,000 rows
                        page.cursors,
                        evict=evict,
                        resync=resync,
                        restored=restored,
                        backfilling=backfilling,
                        epoch=epoch,
                    )
                    report.pulled += applied.rows
                    report.removed += applied.removed
                    report.erased += applied.erased
                    report.kept.extend(applied.kept)
                    report.evicted_sites.extend(evict)
                    report.restored_sites.extend(
                        s for s in restored if s not in report.restored_sites
                    )
                    cursors = next_cursors
                    self.progress("pull", report.pulled, None)
                    if not page.more and not resync:
                        # Every site is whole again: what a restored commons lacks goes back to it.
                        report.sent_again += self.replica.send_again_after_restore()
                        if report.pulled >= _CHECKPOINT_ROWS:
                            self.replica.checkpoint()
                        return
            finally:
                if upcoming is not None:
                    upcoming.cancel()
                    with suppress(Exception):  # a page never applied: its error does not matter
                        upcoming.result()
        raise SyncError(_("The pull did not end; try again."))

    def _fetch(self, cursors: dict[str, int], epoch: str | None) -> PullResponse:
        return self.client.pull(PullRequest(cursors=cursors, limit=self.pull_limit, epoch=epoch))


def rejection_message(reason: str | None) -> str:
    """The reason stored with a rejected outbox entry, for a person: one line per field."""
    if not reason:
        return _("refused by the commons")
    try:
        errors = json.loads(reason)
        return "\n".join(str(e["message"]) for e in errors) or _("refused by the commons")
    except (ValueError, TypeError, KeyError):
        return reason


def _batch(entries: list[OutboxEntry], offset: int = 0) -> list[Mutation]:
    """Mutations for ``entries`` (numbered ``seq - offset``), cut to fit :data:`MAX_PUSH_BYTES`."""
    mutations: list[Mutation] = []
    size = _ENVELOPE_BYTES
    for entry in entries:
        mutation = Mutation(
            seq=entry.seq - offset,
            entity=entry.entity,
            id=entry.row_id,
            op=entry.op,  # type: ignore[arg-type]
            fields=entry.fields,
            base_version=entry.base_version,
            base_values=entry.base_values,
        )
        size += len(json.dumps(mutation.model_dump(mode="json"), ensure_ascii=False).encode()) + 1
        if mutations and size > MAX_PUSH_BYTES:
            break
        mutations.append(mutation)
    return mutations
