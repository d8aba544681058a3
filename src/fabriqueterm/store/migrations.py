"""The local schema, as an ordered list of migrations keyed by SQLite's ``PRAGMA user_version``.

Each migration is frozen once released: never edit one, append a new one. A test checks that the
schema they build matches the SQLModel tables of :mod:`fabriqueterm.domain.models`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from fabriqueterm.domain.ids import migrated_attempt_id

#: One step of a migration.
Statement = str | Callable[[Connection], None]

_SYNC_COLUMNS = """
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    version INTEGER,
    deleted_at DATETIME,"""

_V1 = [
    f"""CREATE TABLE site ({_SYNC_COLUMNS}
    name VARCHAR(200) NOT NULL,
    city VARCHAR(120) NOT NULL,
    region VARCHAR(120) NOT NULL,
    operator VARCHAR(200) NOT NULL,
    address VARCHAR(300) NOT NULL,
    active BOOLEAN NOT NULL
)""",
    f"""CREATE TABLE partner ({_SYNC_COLUMNS}
    name VARCHAR(200) NOT NULL,
    kinds VARCHAR(100) NOT NULL,
    contact_name VARCHAR(200) NOT NULL,
    email VARCHAR(254),
    phone VARCHAR(20),
    city VARCHAR(120) NOT NULL,
    notes VARCHAR(4000) NOT NULL
)""",
    f"""CREATE TABLE partner_site ({_SYNC_COLUMNS}
    partner_id VARCHAR(36) NOT NULL REFERENCES partner (id) DEFERRABLE INITIALLY DEFERRED,
    site_id VARCHAR(36) NOT NULL REFERENCES site (id) DEFERRABLE INITIALLY DEFERRED
)""",
    f"""CREATE TABLE cohort ({_SYNC_COLUMNS}
    site_id VARCHAR(36) NOT NULL REFERENCES site (id) DEFERRABLE INITIALLY DEFERRED,
    name VARCHAR(200) NOT NULL,
    programme VARCHAR(200) NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    capacity INTEGER NOT NULL,
    funders VARCHAR(500) NOT NULL,
    status VARCHAR(16) NOT NULL
)""",
    f"""CREATE TABLE learner ({_SYNC_COLUMNS}
    site_id VARCHAR(36) NOT NULL REFERENCES site (id) DEFERRABLE INITIALLY DEFERRED,
    cohort_id VARCHAR(36) NOT NULL REFERENCES cohort (id) DEFERRABLE INITIALLY DEFERRED,
    first_name VARCHAR(100) NOT NULL,
    last_name VARCHAR(100) NOT NULL,
    email VARCHAR(254),
    phone VARCHAR(20),
    birth_year INTEGER,
    gender VARCHAR(1) NOT NULL,
    qpv BOOLEAN NOT NULL,
    qualification VARCHAR(4) NOT NULL,
    job_seeker BOOLEAN NOT NULL,
    refugee BOOLEAN NOT NULL,
    prescriber_id VARCHAR(36) REFERENCES partner (id) DEFERRABLE INITIALLY DEFERRED,
    status VARCHAR(16) NOT NULL,
    dropout_date DATE,
    dropout_reason VARCHAR(300) NOT NULL
)""",
    f"""CREATE TABLE follow_up ({_SYNC_COLUMNS}
    site_id VARCHAR(36) NOT NULL REFERENCES site (id) DEFERRABLE INITIALLY DEFERRED,
    learner_id VARCHAR(36) NOT NULL REFERENCES learner (id) DEFERRABLE INITIALLY DEFERRED,
    milestone VARCHAR(8) NOT NULL,
    due_date DATE NOT NULL,
    done_date DATE,
    channel VARCHAR(8),
    outcome VARCHAR(16),
    notes VARCHAR(4000) NOT NULL
)""",
    f"""CREATE TABLE placement ({_SYNC_COLUMNS}
    site_id VARCHAR(36) NOT NULL REFERENCES site (id) DEFERRABLE INITIALLY DEFERRED,
    learner_id VARCHAR(36) NOT NULL REFERENCES learner (id) DEFERRABLE INITIALLY DEFERRED,
    kind VARCHAR(24) NOT NULL,
    partner_id VARCHAR(36) REFERENCES partner (id) DEFERRABLE INITIALLY DEFERRED,
    job_title VARCHAR(200) NOT NULL,
    start_date DATE NOT NULL,
    source_followup_id VARCHAR(36) REFERENCES follow_up (id) DEFERRABLE INITIALLY DEFERRED,
    notes VARCHAR(4000) NOT NULL
)""",
    # Local only: one entry per local write, pushed to the commons in ``seq`` order (docs/sync.md).
    """CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity VARCHAR(24) NOT NULL,
    row_id VARCHAR(36) NOT NULL,
    op VARCHAR(8) NOT NULL,
    fields TEXT NOT NULL,
    base_version INTEGER,
    base_values TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    state VARCHAR(12) NOT NULL DEFAULT 'pending',
    reason TEXT
)""",
    """CREATE TABLE meta (
    key VARCHAR(64) NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
)""",
]

# Version 2: indexes for the hot queries and the learner search index (FTS5 trigram: substring
# search on names, email and phone in a couple of milliseconds at 100k learners).
_V2 = [
    "CREATE INDEX ix_cohort_site ON cohort (site_id, start_date)",
    "CREATE INDEX ix_learner_cohort ON learner (cohort_id, status)",
    "CREATE INDEX ix_learner_site ON learner (site_id)",
    "CREATE INDEX ix_learner_name ON learner (last_name COLLATE NOCASE, first_name COLLATE NOCASE)",
    "CREATE INDEX ix_follow_up_due ON follow_up (due_date) WHERE done_date IS NULL AND deleted_at IS NULL",
    "CREATE INDEX ix_follow_up_learner ON follow_up (learner_id, due_date)",
    "CREATE INDEX ix_placement_learner ON placement (learner_id, start_date)",
    "CREATE INDEX ix_placement_partner ON placement (partner_id)",
    "CREATE INDEX ix_partner_site_site ON partner_site (site_id, partner_id)",
    "CREATE INDEX ix_outbox_row ON outbox (entity, row_id)",
    """CREATE VIRTUAL TABLE learner_search USING fts5(
    first_name, last_name, email, phone,
    content='learner', content_rowid='rowid', tokenize='trigram')""",
    """CREATE TRIGGER learner_search_ai AFTER INSERT ON learner BEGIN
    INSERT INTO learner_search (rowid, first_name, last_name, email, phone)
    VALUES (new.rowid, new.first_name, new.last_name, new.email, new.phone);
END""",
    """CREATE TRIGGER learner_search_ad AFTER DELETE ON learner BEGIN
    INSERT INTO learner_search (learner_search, rowid, first_name, last_name, email, phone)
    VALUES ('delete', old.rowid, old.first_name, old.last_name, old.email, old.phone);
END""",
    """CREATE TRIGGER learner_search_au AFTER UPDATE OF first_name, last_name, email, phone ON learner
BEGIN
    INSERT INTO learner_search (learner_search, rowid, first_name, last_name, email, phone)
    VALUES ('delete', old.rowid, old.first_name, old.last_name, old.email, old.phone);
    INSERT INTO learner_search (rowid, first_name, last_name, email, phone)
    VALUES (new.rowid, new.first_name, new.last_name, new.email, new.phone);
END""",
    "INSERT INTO learner_search (learner_search) VALUES ('rebuild')",
]

# Conflict records made by the commons (docs/sync.md): pulled like any row of a site, resolved
# offline.
_CONFLICTS = [
    f"""CREATE TABLE conflict ({_SYNC_COLUMNS}
    site_id VARCHAR(36) NOT NULL REFERENCES site (id) DEFERRABLE INITIALLY DEFERRED,
    row_entity VARCHAR(24) NOT NULL,
    row_id VARCHAR(36) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    field VARCHAR(64) NOT NULL,
    server_value TEXT,
    client_value TEXT,
    base_value TEXT,
    coordinator_id VARCHAR(36) NOT NULL,
    coordinator_name VARCHAR(200) NOT NULL,
    detected_at DATETIME NOT NULL,
    resolved_at DATETIME,
    resolution VARCHAR(16) NOT NULL
)""",
    "CREATE INDEX ix_conflict_row ON conflict (row_entity, row_id)",
    "CREATE INDEX ix_conflict_open ON conflict (site_id) WHERE resolved_at IS NULL AND deleted_at IS NULL",
]

# Version 4: each learner's change history (store/history.py), local only: never synced.
_HISTORY = [
    """CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id VARCHAR(36) NOT NULL,
    entity VARCHAR(24) NOT NULL,
    row_id VARCHAR(36) NOT NULL,
    op VARCHAR(8) NOT NULL,
    source VARCHAR(8) NOT NULL,
    at TEXT NOT NULL,
    changes TEXT NOT NULL
)""",
    "CREATE INDEX ix_history_learner ON history (learner_id, id)",
]

# Version 5: covering indexes for the indicators (store/indicators.py): its passes read narrow index
# entries in order instead of wide table rows (learners by cohort, then each learner's follow-ups
# and placements).
_INDICATOR_INDEXES = [
    """CREATE INDEX ix_learner_cohort_cover ON learner (
    cohort_id, id, deleted_at, status, gender, qpv, qualification, job_seeker, refugee)""",
    "CREATE INDEX ix_follow_up_learner_cover ON follow_up (learner_id, deleted_at, outcome, done_date, due_date)",
    "CREATE INDEX ix_placement_learner_cover ON placement (learner_id, deleted_at, start_date, kind)",
]


def _search_words(row: str) -> str:
    """Version 6's indexed words of the learner ``row`` (``new``, ``old`` or ``learner``): names,
    the names written without their apostrophes, hyphens and spaces ("N'Diaye" is also "ndiaye"),
    and the email. In names, the letters of domain.search.LETTERS_SPELT_OUT (as they were then)
    are spelt out; the tokenizer folds accents and case. The GLOB tests spare most rows the
    replace() calls (a third of the index's build time at 100k learners)."""
    first, last = f"{row}.first_name", f"{row}.last_name"
    names = f"{first} || ' ' || {last}"

    def bare(name: str) -> str:
        return f"replace(replace(replace(replace({name}, '''', ''), '’', ''), '-', ''), ' ', '')"

    written = (
        f"{names} || CASE WHEN {names} GLOB '*[-'' ’]*'"
        f" THEN ' ' || {bare(first)} || ' ' || {bare(last)} ELSE '' END"
    )
    spelt = written
    for letter, out in (
        ("æ", "ae"), ("Æ", "ae"), ("œ", "oe"), ("Œ", "oe"), ("ø", "o"), ("Ø", "o"),
        ("ł", "l"), ("Ł", "l"), ("đ", "d"), ("Đ", "d"), ("ß", "ss"), ("ẞ", "ss"),
    ):  # fmt: skip
        spelt = f"replace({spelt}, '{letter}', '{out}')"
    return (
        f"CASE WHEN {names} GLOB '*[æÆœŒøØłŁđĐßẞ]*' THEN {spelt} ELSE {written} END"
        f" || ' ' || coalesce({row}.email, '')"
    )


def _search_phones(row: str) -> str:
    """Version 6's indexed forms of the learner ``row``'s phone (E.164): a French number (+33 and
    nine digits) in its national form (0612345678), without its leading 0 (612345678) and from
    each of its two-digit groups on (12345678, 345678, 5678, 78); another one by its digits."""
    phone = f"{row}.phone"
    french = " || ' ' || ".join(
        [f"'0' || substr({phone}, 4)"] + [f"substr({phone}, {i})" for i in (4, 5, 7, 9, 11)]
    )
    return (
        f"CASE WHEN {phone} GLOB '+33[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN {french}"
        f" ELSE coalesce(substr({phone}, 2), '') END"
    )


def _search_row(row: str) -> str:
    return f"{row}.rowid, {_search_words(row)}, {_search_phones(row)}"


_SEARCHED = ("first_name", "last_name", "email", "phone")
_SEARCH_CHANGED = " OR ".join(
    [f"old.{column} IS NOT new.{column}" for column in _SEARCHED]
    + ["(old.deleted_at IS NULL) <> (new.deleted_at IS NULL)"]
)

# Version 6: the learner search index finds people as they are typed (domain/search.py): words
# from their start in any order, accents and case ignored, phone numbers from the start of the
# number or of a group. It holds live learners only, so its matches need no check and its count
# is the total. Its content is a view of the learner table: a rebuild (the store's bulk load) and
# the triggers compute the same values, with no Python function SQLite would need.
_SEARCH_AS_TYPED = [
    "DROP TRIGGER learner_search_ai",
    "DROP TRIGGER learner_search_ad",
    "DROP TRIGGER learner_search_au",
    "DROP TABLE learner_search",
    f"""CREATE VIEW learner_search_source AS
SELECT learner.rowid AS learner_rowid, {_search_words("learner")} AS words,
    {_search_phones("learner")} AS phones
FROM learner WHERE learner.deleted_at IS NULL""",
    """CREATE VIRTUAL TABLE learner_search USING fts5(
    words, phones, content='learner_search_source', content_rowid='learner_rowid',
    tokenize='unicode61 remove_diacritics 2', prefix='1 2')""",
    f"""CREATE TRIGGER learner_search_ai AFTER INSERT ON learner WHEN new.deleted_at IS NULL BEGIN
    INSERT INTO learner_search (rowid, words, phones) VALUES ({_search_row("new")});
END""",
    f"""CREATE TRIGGER learner_search_ad AFTER DELETE ON learner WHEN old.deleted_at IS NULL BEGIN
    INSERT INTO learner_search (learner_search, rowid, words, phones)
    VALUES ('delete', {_search_row("old")});
END""",
    f"""CREATE TRIGGER learner_search_au
AFTER UPDATE OF {", ".join(_SEARCHED)}, deleted_at ON learner WHEN {_SEARCH_CHANGED}
BEGIN
    INSERT INTO learner_search (learner_search, rowid, words, phones)
    SELECT 'delete', {_search_row("old")} WHERE old.deleted_at IS NULL;
    INSERT INTO learner_search (rowid, words, phones)
    SELECT {_search_row("new")} WHERE new.deleted_at IS NULL;
END""",
    "INSERT INTO learner_search (learner_search) VALUES ('rebuild')",
]


_CLOSED_BY_UNANSWERED = ("no_answer", "wrong_number")
_ATTEMPT_FIELDS = (
    "site_id",
    "learner_id",
    "follow_up_id",
    "attempted_on",
    "channel",
    "outcome",
    "callback_date",
    "situation",
    "notes",
    "made_by",
)


def _outbox(
    connection: Connection,
    entity: str,
    row_id: str,
    op: str,
    fields: dict[str, Any],
    base_version: int | None,
    base_values: dict[str, Any],
    now: str,
) -> None:
    connection.exec_driver_sql(
        "INSERT INTO outbox (entity, row_id, op, fields, base_version, base_values, created_at,"
        " state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
        (
            entity,
            row_id,
            op,
            json.dumps(fields, ensure_ascii=False, sort_keys=True),
            base_version,
            json.dumps(base_values, ensure_ascii=False, sort_keys=True),
            now,
        ),
    )


def _calls_become_attempts(connection: Connection) -> None:
    now = datetime.now(UTC).isoformat()
    # Pending changes that close a follow-up on an unanswered call: that call becomes an attempt
    # below, and the follow-up stays open.
    for seq, op, fields_json in connection.exec_driver_sql(
        "SELECT seq, op, fields FROM outbox WHERE entity = 'follow_up' AND state <> 'done'"
    ).all():
        fields = json.loads(fields_json)
        if fields.get("outcome") not in _CLOSED_BY_UNANSWERED:
            continue
        for key in ("done_date", "outcome", "channel"):
            if op == "create":
                fields[key] = None
            else:
                fields.pop(key, None)
        connection.exec_driver_sql(
            "UPDATE outbox SET fields = ? WHERE seq = ?",
            (json.dumps(fields, ensure_ascii=False, sort_keys=True), seq),
        )
    calls = connection.exec_driver_sql(
        "SELECT f.id, f.site_id, f.learner_id, f.done_date, f.channel, f.outcome, f.notes,"
        " f.version, f.updated_at, EXISTS (SELECT 1 FROM placement p WHERE"
        " p.source_followup_id = f.id AND p.deleted_at IS NULL)"
        " FROM follow_up f WHERE f.done_date IS NOT NULL AND f.outcome IS NOT NULL"
        " AND f.deleted_at IS NULL"
    ).all()
    for (
        row_id,
        site_id,
        learner_id,
        done_date,
        channel,
        outcome,
        notes,
        version,
        updated_at,
        placed,
    ) in calls:
        attempt = {
            "site_id": site_id,
            "learner_id": learner_id,
            "follow_up_id": row_id,
            "attempted_on": str(done_date),
            "channel": channel or "phone",
            "outcome": outcome,
            "callback_date": None,
            "situation": "placements" if placed and outcome == "reached" else "",
            "notes": notes or "",
            "made_by": "",
        }
        attempt_id = migrated_attempt_id(row_id)
        connection.exec_driver_sql(
            "INSERT OR IGNORE INTO follow_up_attempt (id, created_at, updated_at, version,"
            f" deleted_at, {', '.join(_ATTEMPT_FIELDS)}) VALUES (?, ?, ?, NULL, NULL,"
            f" {', '.join('?' for _ in _ATTEMPT_FIELDS)})",
            (attempt_id, updated_at, updated_at, *(attempt[k] for k in _ATTEMPT_FIELDS)),
        )
        _outbox(connection, "follow_up_attempt", attempt_id, "create", attempt, None, {}, now)
        if outcome not in _CLOSED_BY_UNANSWERED:
            continue
        connection.exec_driver_sql(
            "UPDATE follow_up SET done_date = NULL, outcome = NULL, channel = NULL,"
            " updated_at = ? WHERE id = ?",
            (now, row_id),
        )
        if version is not None:
            _outbox(
                connection,
                "follow_up",
                row_id,
                "update",
                {"done_date": None, "outcome": None, "channel": None},
                version,
                {"done_date": str(done_date), "outcome": outcome, "channel": channel},
                now,
            )


# Version 7: follow-ups worked as coordinators work them (docs/domain.md): each call is an
# append-only attempt row; the follow-up closes only as reached, declined or unreachable. A call
# logged before (the follow-up's done date, channel, outcome and notes) becomes its first attempt,
# with an id every upgrading device computes alike; a follow-up that an unanswered call had closed
# ("no answer", "wrong number") opens again and comes back in "À appeler". Both changes go to the
# outbox so the commons learns them, and pending changes of the old shape are rewritten.
_ATTEMPTS = [
    f"""CREATE TABLE follow_up_attempt ({_SYNC_COLUMNS}
    site_id VARCHAR(36) NOT NULL REFERENCES site (id) DEFERRABLE INITIALLY DEFERRED,
    learner_id VARCHAR(36) NOT NULL REFERENCES learner (id) DEFERRABLE INITIALLY DEFERRED,
    follow_up_id VARCHAR(36) NOT NULL REFERENCES follow_up (id) DEFERRABLE INITIALLY DEFERRED,
    attempted_on DATE NOT NULL,
    channel VARCHAR(8) NOT NULL,
    outcome VARCHAR(16) NOT NULL,
    callback_date DATE,
    situation VARCHAR(16) NOT NULL,
    notes VARCHAR(4000) NOT NULL,
    made_by VARCHAR(200) NOT NULL
)""",
    # Covering for the queue's call-back date and the indicators' attempts per follow-up.
    """CREATE INDEX ix_attempt_follow_up
    ON follow_up_attempt (follow_up_id, deleted_at, attempted_on, outcome)""",
    "CREATE INDEX ix_attempt_learner ON follow_up_attempt (learner_id)",
    _calls_become_attempts,
]

# Also in version 7: who made the commons' value of a conflict (domain/models.py, Conflict), so
# the person deciding sees the colleague's name and when; null in older records.
_CONFLICT_AUTHOR = [
    "ALTER TABLE conflict ADD COLUMN server_author_id VARCHAR(36)",
    "ALTER TABLE conflict ADD COLUMN server_author_name VARCHAR(200)",
    "ALTER TABLE conflict ADD COLUMN server_changed_at DATETIME",
]

# Version 8: after a commons restore, the rows of a site pulled again are held until the pull
# settles them (store/restored.py): fields null while the pull has not brought the row back; then
# the fields to send again, with the commons' values as their base.
_HELD_AFTER_RESTORE = [
    """CREATE TABLE held_after_restore (
    entity VARCHAR(32) NOT NULL,
    row_id VARCHAR(36) NOT NULL,
    fields TEXT,
    base_values TEXT,
    base_version INTEGER,
    PRIMARY KEY (entity, row_id)
)""",
]

#: MIGRATIONS[i] takes a database from version i to version i + 1: SQL statements, or a function
#: of the migration's connection for a change SQL alone cannot make.
MIGRATIONS: list[list[Statement]] = [
    _V1,
    _V2,
    _CONFLICTS,
    _HISTORY,
    _INDICATOR_INDEXES,
    _SEARCH_AS_TYPED,
    _ATTEMPTS + _CONFLICT_AUTHOR,
    _HELD_AFTER_RESTORE,
]
SCHEMA_VERSION = len(MIGRATIONS)
