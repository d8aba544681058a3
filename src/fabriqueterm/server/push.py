"""Push: a batch of one client's mutations, decided and written in one transaction (SYNC.md).

The transaction first locks the client's row (identical pushes sent concurrently are served one
after the other), then locks the rows the batch touches, decides every mutation in memory (the
batch sees its own earlier writes), and only then takes one sequence number per row written from
the counter and writes everything. On PostgreSQL a deadlock or a racing insert of the same id
rolls the whole batch back and it is decided again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError

from fabriqueterm.domain.dates import utcnow
from fabriqueterm.domain.ids import uuid7
from fabriqueterm.domain.models import LEARNER_PERSONAL_FIELDS
from fabriqueterm.domain.validation import FIELD_LABELS, DomainValidationError, validate
from fabriqueterm.i18n import N_, _
from fabriqueterm.server.auth import Coordinator, granted_sites
from fabriqueterm.server.db import (
    SYNCED_TABLES,
    change_table,
    client_table,
    erasure_table,
    is_postgres,
    partner_origin_table,
    take_sequence,
    write_transaction,
)
from fabriqueterm.server.rows import (
    EDITABLE,
    REFERENCES,
    SITE_FROM_PARENT,
    PartnerLinks,
    chunks,
    json_text,
    json_value,
    row_json,
    row_out,
    site_of,
)
from fabriqueterm.sync.protocol import (
    ConflictKind,
    ConflictOut,
    ConflictResolution,
    FieldReason,
    Mutation,
    MutationResult,
    MutationStatus,
    Op,
    PushRequest,
    PushResponse,
)

log = logging.getLogger(__name__)

Key = tuple[str, str]

#: Server-side reasons, beside the validation codes of domain.validation.
SERVER_REASONS: dict[str, str] = {
    "unknown_entity": N_("no such kind of record"),
    "bad_id": N_("the id is not a UUID"),
    "not_found": N_("no such record"),
    "id_unavailable": N_("this id cannot be used: make a new one"),
    "op_not_allowed": N_("this operation is not allowed on this kind of record"),
    "site_mismatch": N_("the site must be the site of the record it belongs to"),
    "unknown_reference": N_("no such record"),
    "invalid": N_("the value is not valid"),
}

# Values a learner's personal fields take once erased.
_WIPED = {
    name: (None if SYNCED_TABLES["learner"].c[name].nullable else "")
    for name in LEARNER_PERSONAL_FIELDS
}

_RETRY_SQLSTATES = {"40001", "40P01", "23505"}
_MAX_ATTEMPTS = 6


class ClientBoundElsewhere(Exception):
    """The client_id was first pushed by another coordinator."""


class _Rejected(Exception):
    def __init__(self, reasons: list[FieldReason]):
        self.reasons = reasons


def _reason(field: str, code: str, **params: Any) -> FieldReason:
    label = _(FIELD_LABELS[field]) if field in FIELD_LABELS else field
    return FieldReason(
        field=field,
        code=code,
        params=params,
        message=f"{label}: {_(SERVER_REASONS.get(code, code))}",
    )


def _reject(field: str, code: str, **params: Any) -> _Rejected:
    return _Rejected([_reason(field, code, **params)])


def _from_validation(error: DomainValidationError) -> _Rejected:
    reasons = []
    for item in error.errors:
        try:
            message = str(item)
        except Exception:  # a reason that cannot be rendered still names its field
            message = item.field
        reasons.append(
            FieldReason(
                field=item.field,
                code=item.code,
                params=json_value(dict(item.params)),
                message=message,
            )
        )
    return _Rejected(reasons)


def _checked(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    """``validation.validate``, with any failure turned into a rejection (never a 500)."""
    try:
        return validate(entity, data)
    except DomainValidationError as error:
        raise _from_validation(error) from None
    except (
        Exception
    ) as error:  # validators are not meant to raise anything else; if one does, refuse
        log.warning(
            "validation of a %s raised %s", entity, type(error).__name__
        )  # no values: personal data
        raise _reject("", "invalid") from None


def _checked_conflict(data: dict[str, Any]) -> dict[str, Any]:
    """A conflict row: only its resolution can change."""
    allowed = {"resolved_at", "resolution"}
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise _Rejected([_reason(k, "unknown_field") for k in unknown])
    values: dict[str, Any] = {}
    if "resolution" in data:
        choices = [r.value for r in ConflictResolution]
        if data["resolution"] not in [*choices, ""]:
            raise _reject("resolution", "choice", choices=", ".join(choices))
        values["resolution"] = data["resolution"]
    if "resolved_at" in data:
        raw = data["resolved_at"]
        if raw is None:
            values["resolved_at"] = None
        else:
            try:
                stamp = datetime.fromisoformat(raw) if isinstance(raw, str) else None
            except ValueError:
                stamp = None
            if stamp is None:
                raise _reject("resolved_at", "date")
            # Stored in UTC (SQLite keeps no offset).
            values["resolved_at"] = (
                stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
            )
    return values


def _same(a: Any, b: Any) -> bool:
    return json_value(a) == json_value(b)


class _Batch:
    """One push, decided in memory over the rows it touches, then written at once."""

    def __init__(self, connection: Connection, coordinator: Coordinator, client_id: str):
        self.connection = connection
        self.coordinator = coordinator
        self.client_id = client_id
        self.granted = granted_sites(connection, coordinator.id)
        self.now = utcnow()
        self.rows: dict[Key, dict[str, Any] | None] = {}
        self.original: dict[Key, dict[str, Any] | None] = {}
        self.dirty: dict[Key, None] = {}  # ordered set of rows to write
        self.links = PartnerLinks(connection)
        self.partner_changes: list[tuple[str, str, Key]] = []  # (partner id, site id, link row)
        self.new_origins: dict[str, str] = {}
        self.erased: dict[str, bool] = {}
        self.new_erasures: list[str] = []
        self.last_writer: dict[Key, str | None] = {}
        self.for_update = is_postgres(connection)
        self.out: dict[Key, dict[str, Any]] = {}  # rows written, as the API carries them

    # --- reading ----------------------------------------------------------------------------

    def prefetch(self, keys: Iterable[Key], *, lock: bool = False) -> None:
        by_entity: dict[str, set[str]] = {}
        for entity, row_id in keys:
            if (entity, row_id) not in self.rows and entity in SYNCED_TABLES:
                by_entity.setdefault(entity, set()).add(row_id)
        for entity in SYNCED_TABLES:  # a fixed order, so two batches lock in the same order
            ids = sorted(by_entity.get(entity, ()))
            table = SYNCED_TABLES[entity]
            for part in chunks(ids):
                query = select(table).where(table.c.id.in_(part)).order_by(table.c.id)
                if lock and self.for_update:
                    query = query.with_for_update()
                found = {r["id"]: dict(r) for r in self.connection.execute(query).mappings()}
                for row_id in part:
                    row = found.get(row_id)
                    self.rows[(entity, row_id)] = row
                    self.original[(entity, row_id)] = dict(row) if row else None

    def get(self, entity: str, row_id: str) -> dict[str, Any] | None:
        key = (entity, row_id)
        if key not in self.rows:
            self.prefetch([key])
        return self.rows[key]

    def visible(self, entity: str, row: dict[str, Any] | None) -> bool:
        if row is None:
            return False
        if entity == "partner":
            return self.links.visible(row["id"], self.granted, self.coordinator.id)
        return site_of(entity, row) in self.granted

    def load_erasures(self, row_ids: Iterable[str]) -> None:
        missing = sorted({r for r in row_ids if r not in self.erased})
        for part in chunks(missing):
            found = set(
                self.connection.execute(
                    select(erasure_table.c.row_id).where(erasure_table.c.row_id.in_(part))
                ).scalars()
            )
            for row_id in part:
                self.erased[row_id] = row_id in found

    def is_erased(self, row_id: str) -> bool:
        if row_id not in self.erased:
            self.erased[row_id] = (
                self.connection.execute(
                    select(erasure_table.c.row_id).where(erasure_table.c.row_id == row_id)
                ).first()
                is not None
            )
        return self.erased[row_id]

    def written_last_by_this_client(self, key: Key) -> bool:
        if key in self.dirty:
            return True
        if key not in self.last_writer:
            self.last_writer[key] = self.connection.execute(
                select(change_table.c.client_id)
                .where(change_table.c.entity == key[0], change_table.c.row_id == key[1])
                .order_by(change_table.c.seq.desc())
                .limit(1)
            ).scalar()
        return self.last_writer[key] == self.client_id

    # --- writing (in memory until flush) ----------------------------------------------------

    def put(self, entity: str, row: dict[str, Any]) -> None:
        key = (entity, row["id"])
        if key not in self.original:
            self.original[key] = None
        before = self.rows.get(key)
        self.rows[key] = row
        self.dirty.pop(key, None)
        self.dirty[key] = None  # written last: its sequence number comes last
        if entity == "partner_site":
            links = self.links.sites(row["partner_id"])
            if before is not None and before["deleted_at"] is None:
                self.links.sites(before["partner_id"]).discard(before["site_id"])
                if (before["partner_id"], before["site_id"]) != (row["partner_id"], row["site_id"]):
                    self.partner_changes.append((before["partner_id"], before["site_id"], key))
            if row["deleted_at"] is None:
                links.add(row["site_id"])
            self.partner_changes.append((row["partner_id"], row["site_id"], key))

    def add_conflict(
        self,
        entity: str,
        row: dict[str, Any],
        kind: ConflictKind,
        field: str,
        server: Any,
        client: Any,
        base: Any,
    ) -> ConflictOut | None:
        site = site_of(entity, row)
        if site is None:  # a partner: the conflict goes to one of its sites this coordinator holds
            shared = sorted(self.links.sites(row["id"]) & self.granted) or sorted(self.granted)
            if not shared:
                return None
            site = shared[0]
        conflict = {
            "id": uuid7(),
            "created_at": self.now,
            "updated_at": self.now,
            "version": None,
            "deleted_at": None,
            "site_id": site,
            "row_entity": entity,
            "row_id": row["id"],
            "kind": kind.value,
            "field": field,
            "server_value": None if server is _NONE else json_text(server),
            "client_value": None if client is _NONE else json_text(client),
            "base_value": None if base is _NONE else json_text(base),
            "coordinator_id": self.coordinator.id,
            "coordinator_name": self.coordinator.name,
            "detected_at": self.now,
            "resolved_at": None,
            "resolution": "",
        }
        self.put("conflict", conflict)
        return ConflictOut(
            id=conflict["id"],
            kind=kind,
            field=field,
            server_value=None if server is _NONE else json_value(server),
            client_value=None if client is _NONE else json_value(client),
            base_value=None if base is _NONE else json_value(base),
        )

    def flush(self) -> None:
        """Take the sequence numbers and write every changed row, its change-log entries, the
        partners' creators and the erasures."""
        if not self.dirty:
            return
        last = take_sequence(self.connection, len(self.dirty))
        seqs: dict[Key, int] = {}
        for offset, key in enumerate(self.dirty):
            seqs[key] = last - len(self.dirty) + 1 + offset
            row = self.rows[key]
            assert row is not None
            row["version"] = seqs[key]
        inserts: dict[str, list[dict[str, Any]]] = {}
        updates: dict[str, list[dict[str, Any]]] = {}
        changes: dict[tuple[str, str, str], int] = {}
        texts: dict[Key, str] = {}
        for key in self.dirty:
            entity, row_id = key
            row = self.rows[key]
            assert row is not None
            original = self.original.get(key)
            if original is None:
                inserts.setdefault(entity, []).append(row)
            else:
                updates.setdefault(entity, []).append({f"b_{k}": v for k, v in row.items()})
            sites = {site_of(entity, row)}
            if original is not None:
                sites.add(site_of(entity, original))
            if entity == "partner":
                sites = set(self.links.sites(row_id))
            for site in sites - {None}:
                changes[(entity, row_id, site)] = seqs[key]  # type: ignore[index]
            self.out[key] = row_out(row)
            texts[key] = row_json(row, self.out[key])
        for partner_id, site_id, link_key in self.partner_changes:
            index = ("partner", partner_id, site_id)
            changes[index] = max(changes.get(index, 0), seqs[link_key])
            if ("partner", partner_id) not in texts:
                partner = self.get("partner", partner_id)
                if partner is not None:
                    texts[("partner", partner_id)] = row_json(partner)
        for entity in SYNCED_TABLES:
            table = SYNCED_TABLES[entity]
            if inserts.get(entity):
                self.connection.execute(insert(table), inserts[entity])
            if updates.get(entity):
                columns = [c.name for c in table.columns if c.name != "id"]
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values({c: bindparam(f"b_{c}") for c in columns})
                )
                self.connection.execute(statement, updates[entity])
        upsert_changes(
            self.connection,
            [
                {
                    "entity": e,
                    "row_id": r,
                    "site_id": s,
                    "seq": seq,
                    "client_id": self.client_id,
                    "row_site": site_of(e, self.rows[(e, r)]),  # type: ignore[arg-type]
                    "row_json": texts[(e, r)],
                }
                for (e, r, s), seq in changes.items()
                if (e, r) in texts
            ],
        )
        if self.new_origins:
            self.connection.execute(
                insert(partner_origin_table),
                [{"partner_id": p, "coordinator_id": c} for p, c in self.new_origins.items()],
            )
        if self.new_erasures:
            self.connection.execute(
                insert(erasure_table),
                [{"row_id": r, "erased_at": self.now} for r in self.new_erasures],
            )

    # --- deciding ---------------------------------------------------------------------------

    def decide(self, mutation: Mutation) -> MutationResult:
        conflicts: list[ConflictOut] = []
        try:
            if mutation.entity not in SYNCED_TABLES:
                raise _reject("entity", "unknown_entity")
            if not is_uuid(mutation.id):
                raise _reject("id", "bad_id")
            handler = {
                Op.CREATE: self._create,
                Op.UPDATE: self._update,
                Op.DELETE: self._delete,
                Op.ERASE: self._erase,
            }[mutation.op]
            status = handler(mutation, conflicts)
        except _Rejected as rejection:
            return MutationResult(
                seq=mutation.seq,
                status=MutationStatus.REJECTED,
                entity=mutation.entity,
                id=mutation.id,
                errors=rejection.reasons,
            )
        return MutationResult(
            seq=mutation.seq,
            status=status,
            entity=mutation.entity,
            id=mutation.id,
            conflicts=[c for c in conflicts if c is not None],
        )

    def _check_row(self, entity: str, row: dict[str, Any], before: dict[str, Any] | None) -> None:
        """References exist and are in scope; the row's site is granted and matches its parent's."""
        refs = REFERENCES.get(entity, {})
        for column, target in refs.items():
            value = row.get(column)
            if value is None:
                continue
            if before is not None and before.get(column) == value and column != "site_id":
                continue  # unchanged references stay valid even if their target was deleted since
            if not self.visible(target, self.get(target, value)):
                raise _reject(column, "unknown_reference")
        if entity in SITE_FROM_PARENT:
            column, parent_entity = SITE_FROM_PARENT[entity]
            parent = self.get(parent_entity, row[column])
            if parent is None or not self.visible(parent_entity, parent):
                raise _reject(column, "unknown_reference")
            if parent["site_id"] != row["site_id"]:
                raise _reject("site_id", "site_mismatch")

    def _create(self, mutation: Mutation, conflicts: list[ConflictOut]) -> MutationStatus:
        entity = mutation.entity
        if entity in ("site", "conflict"):
            raise _reject("op", "op_not_allowed")
        current = self.get(entity, mutation.id)
        if current is not None and not self.visible(entity, current):
            raise _reject("id", "id_unavailable")
        if current is None and entity == "learner" and self.is_erased(mutation.id):
            raise _reject("id", "id_unavailable")  # an erased person never comes back
        values = _checked(entity, mutation.fields)
        if current is None:
            row = {
                "id": mutation.id,
                "created_at": self.now,
                "updated_at": self.now,
                "version": None,
                "deleted_at": None,
                **values,
            }
            self._check_row(entity, row, None)
            if entity == "partner":
                self.links.set_origin(mutation.id, self.coordinator.id)
                self.new_origins[mutation.id] = self.coordinator.id
            self.put(entity, row)
            return MutationStatus.APPLIED
        # A row with this id exists: same content is the same row made twice (generated rows).
        differing = [k for k, v in values.items() if not _same(current.get(k), v)]
        if current["deleted_at"] is not None:
            for name in differing or list(values)[:1]:
                conflicts.append(
                    self.add_conflict(
                        entity,
                        current,
                        ConflictKind.DELETED,
                        name,
                        current.get(name),
                        values[name],
                        _NONE,
                    )
                )
            return MutationStatus.CONFLICT
        if not differing:
            return MutationStatus.DUPLICATE
        for name in differing:
            conflicts.append(
                self.add_conflict(
                    entity,
                    current,
                    ConflictKind.CREATE,
                    name,
                    current.get(name),
                    values[name],
                    _NONE,
                )
            )
        return MutationStatus.CONFLICT

    def _update(self, mutation: Mutation, conflicts: list[ConflictOut]) -> MutationStatus:
        entity = mutation.entity
        current = self.get(entity, mutation.id)
        if not self.visible(entity, current):
            raise _reject("id", "not_found")
        assert current is not None
        if entity == "conflict":
            values = _checked_conflict(mutation.fields)
            changed = {k: v for k, v in values.items() if not _same(current.get(k), v)}
            if changed:
                self.put(entity, {**current, **changed, "updated_at": self.now})
            return MutationStatus.APPLIED
        if entity == "learner" and self.is_erased(mutation.id):
            # Nothing the client sent is kept: it may hold the person's data.
            conflicts.append(
                self.add_conflict(entity, current, ConflictKind.DELETED, "*", _NONE, _NONE, _NONE)
            )
            return MutationStatus.CONFLICT
        editable = {k: current[k] for k in EDITABLE[entity]}
        normalised = _checked(entity, {**editable, **mutation.fields})
        new_values = {k: normalised[k] for k in mutation.fields}
        key = (entity, mutation.id)
        restoring = False
        if current["deleted_at"] is not None:
            if mutation.base_version == current["version"] or self.written_last_by_this_client(key):
                restoring = (
                    True  # the client saw the tombstone (or made it) and brings the row back
                )
            else:
                for name, value in new_values.items():
                    conflicts.append(
                        self.add_conflict(
                            entity,
                            current,
                            ConflictKind.DELETED,
                            name,
                            current.get(name),
                            value,
                            mutation.base_values.get(name, _NONE),
                        )
                    )
                return MutationStatus.CONFLICT
        apply: dict[str, Any] = {}
        if restoring or mutation.base_version == current["version"]:
            apply = {k: v for k, v in new_values.items() if not _same(current.get(k), v)}
        else:
            for name, value in new_values.items():
                server = current.get(name)
                if _same(server, value):
                    continue
                if name in mutation.base_values and _same(server, mutation.base_values[name]):
                    apply[name] = value
                    continue
                conflicts.append(
                    self.add_conflict(
                        entity,
                        current,
                        ConflictKind.FIELD,
                        name,
                        server,
                        value,
                        mutation.base_values.get(name, _NONE),
                    )
                )
        if apply or restoring:
            merged = {**editable, **apply}
            if conflicts:
                try:
                    merged = _checked(entity, merged)
                except _Rejected:
                    self._drop_conflicts(conflicts)
                    raise
            row = {**current, **merged, "updated_at": self.now}
            if restoring:
                row["deleted_at"] = None
            try:
                self._check_row(entity, row, current)
            except _Rejected:
                self._drop_conflicts(conflicts)
                raise
            self.put(entity, row)
        return MutationStatus.CONFLICT if conflicts else MutationStatus.APPLIED

    def _drop_conflicts(self, conflicts: list[ConflictOut]) -> None:
        for conflict in conflicts:
            if conflict is not None:
                self.rows.pop(("conflict", conflict.id), None)
                self.dirty.pop(("conflict", conflict.id), None)
                self.original.pop(("conflict", conflict.id), None)
        conflicts.clear()

    def _delete(self, mutation: Mutation, conflicts: list[ConflictOut]) -> MutationStatus:
        entity = mutation.entity
        if entity in ("site", "conflict"):
            raise _reject("op", "op_not_allowed")
        current = self.get(entity, mutation.id)
        if not self.visible(entity, current):
            raise _reject("id", "not_found")
        assert current is not None
        if current["deleted_at"] is None:
            self.put(entity, {**current, "deleted_at": self.now, "updated_at": self.now})
        return MutationStatus.APPLIED

    def _erase(self, mutation: Mutation, conflicts: list[ConflictOut]) -> MutationStatus:
        if mutation.entity != "learner":
            raise _reject("op", "op_not_allowed")
        current = self.get("learner", mutation.id)
        if not self.visible("learner", current):
            raise _reject("id", "not_found")
        assert current is not None
        wiped = {
            **current,
            **_WIPED,
            "deleted_at": current["deleted_at"] or self.now,
            "updated_at": self.now,
        }
        if wiped != current:
            self.put("learner", wiped)
        if not self.is_erased(mutation.id):
            self.erased[mutation.id] = True
            self.new_erasures.append(mutation.id)
        # Notes about the person go too, and every conflict record that holds their values.
        touched = {("learner", mutation.id)}
        for child in ("follow_up", "placement"):
            table = SYNCED_TABLES[child]
            ids = self.connection.execute(
                select(table.c.id).where(table.c.learner_id == mutation.id)
            ).scalars()
            ids = sorted(
                set(ids)
                | {
                    rid
                    for (e, rid), r in self.rows.items()
                    if e == child and r and r["learner_id"] == mutation.id
                }
            )
            self.prefetch([(child, i) for i in ids], lock=True)
            for child_id in ids:
                row = self.rows[(child, child_id)]
                touched.add((child, child_id))
                if row is not None and row["notes"] != "":
                    self.put(child, {**row, "notes": "", "updated_at": self.now})
        table = SYNCED_TABLES["conflict"]
        row_ids = sorted({rid for _e, rid in touched})
        conflict_ids: set[str] = set()
        for part in chunks(row_ids):
            conflict_ids |= set(
                self.connection.execute(
                    select(table.c.id).where(table.c.row_id.in_(part))
                ).scalars()
            )
        self.prefetch([("conflict", i) for i in sorted(conflict_ids)], lock=True)
        for (entity, _rid), row in list(self.rows.items()):
            if (
                entity != "conflict"
                or row is None
                or (row["row_entity"], row["row_id"]) not in touched
            ):
                continue
            if (
                row["server_value"] is None
                and row["client_value"] is None
                and row["base_value"] is None
            ):
                continue
            self.put(
                "conflict",
                {
                    **row,
                    "server_value": None,
                    "client_value": None,
                    "base_value": None,
                    "updated_at": self.now,
                },
            )
        return MutationStatus.APPLIED


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


_NONE: Any = _NoValue()


def upsert_changes(connection: Connection, entries: list[dict[str, Any]]) -> None:
    """Insert or move forward the change-log entries (one per row and site)."""
    if not entries:
        return
    if is_postgres(connection):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    statement = dialect_insert(change_table)
    statement = statement.on_conflict_do_update(
        index_elements=["entity", "row_id", "site_id"],
        set_={
            "seq": statement.excluded.seq,
            "client_id": statement.excluded.client_id,
            "row_site": statement.excluded.row_site,
            "row_json": statement.excluded.row_json,
        },
    )
    for part in chunks(entries, 2000):
        connection.execute(statement, part)


def _bind_client(connection: Connection, coordinator: Coordinator, client_id: str) -> int:
    """Lock the client's row (made on first push) and return its last applied number."""
    if is_postgres(connection):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    now = utcnow()
    connection.execute(
        dialect_insert(client_table)
        .values(
            client_id=client_id,
            coordinator_id=coordinator.id,
            last_seq=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["client_id"])
    )
    query = select(client_table.c.coordinator_id, client_table.c.last_seq).where(
        client_table.c.client_id == client_id
    )
    if is_postgres(connection):
        query = query.with_for_update()
    owner, last_seq = connection.execute(query).one()
    if owner != coordinator.id:
        raise ClientBoundElsewhere(client_id)
    return int(last_seq)


def is_uuid(text: str) -> bool:
    """A UUID written the usual way (36 characters, lower or upper case)."""
    if len(text) != 36:
        return False
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _push_once(
    connection: Connection, coordinator: Coordinator, request: PushRequest
) -> PushResponse:
    last = _bind_client(connection, coordinator, request.client_id)
    start = last
    batch = _Batch(connection, coordinator, request.client_id)
    todo = [m for m in request.mutations if m.entity in SYNCED_TABLES and is_uuid(m.id)]
    batch.prefetch([(m.entity, m.id) for m in todo], lock=True)
    references: list[Key] = []
    for m in todo:
        row = batch.rows.get((m.entity, m.id)) or {}
        for column, target in REFERENCES.get(m.entity, {}).items():
            for value in (m.fields.get(column), row.get(column)):
                if isinstance(value, str) and value:
                    references.append((target, value))
    batch.prefetch(references)
    batch.load_erasures(m.id for m in todo if m.entity == "learner")
    batch.links.load(
        [k[1] for k in batch.rows if k[0] == "partner"]
        + [r["partner_id"] for k, r in batch.rows.items() if k[0] == "partner_site" and r]
    )
    results: list[MutationResult | None] = []
    gap = False
    for mutation in request.mutations:
        if gap or mutation.seq > last + 1:
            gap = True
            results.append(
                MutationResult(
                    seq=mutation.seq,
                    status=MutationStatus.GAP,
                    entity=mutation.entity,
                    id=mutation.id,
                    expected_seq=last + 1,
                )
            )
        elif mutation.seq <= last:
            results.append(
                MutationResult(
                    seq=mutation.seq,
                    status=MutationStatus.DUPLICATE,
                    entity=mutation.entity,
                    id=mutation.id,
                )
            )
        else:
            results.append(batch.decide(mutation))
            last = mutation.seq
    batch.flush()
    if last != start:
        connection.execute(
            update(client_table)
            .where(client_table.c.client_id == request.client_id)
            .values(last_seq=last, updated_at=batch.now)
        )
    final: list[MutationResult] = []
    for result in results:
        assert result is not None
        if (
            result.status != MutationStatus.GAP
            and result.entity in SYNCED_TABLES
            and is_uuid(result.id)
        ):
            row = batch.get(result.entity, result.id)
            if batch.visible(result.entity, row):
                assert row is not None
                result.row = batch.out.get((result.entity, result.id)) or row_out(row)
        final.append(result)
    return PushResponse(client_id=request.client_id, results=final, last_applied_seq=last)


def push(engine: Engine, coordinator: Coordinator, request: PushRequest) -> PushResponse:
    """Decide and write a batch; retried whole when PostgreSQL reports a race it resolved."""
    for attempt in range(_MAX_ATTEMPTS):
        try:
            with write_transaction(engine) as connection:
                return _push_once(connection, coordinator, request)
        except DBAPIError as error:
            state = getattr(error.orig, "sqlstate", None)
            if state in _RETRY_SQLSTATES and attempt < _MAX_ATTEMPTS - 1:
                log.info("push retried after a concurrent write (sqlstate %s)", state)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def load_rows(engine: Engine, rows_by_entity: dict[str, list[dict[str, Any]]]) -> int:
    """Bulk-load rows already valid (the demo network, an import) as if each had been pushed once:
    new versions from the counter and change-log entries. Returns the number of rows."""
    total = sum(len(rows) for rows in rows_by_entity.values())
    if not total:
        return 0
    with write_transaction(engine) as connection:
        links: dict[str, set[str]] = {}
        for link in rows_by_entity.get("partner_site", ()):
            if link.get("deleted_at") is None:
                links.setdefault(link["partner_id"], set()).add(link["site_id"])
        last = take_sequence(connection, total)
        seq = last - total
        partner_texts: dict[str, str] = {}
        for entity in SYNCED_TABLES:
            rows = rows_by_entity.get(entity) or []
            if not rows:
                continue
            table = SYNCED_TABLES[entity]
            columns = [c.name for c in table.columns]
            prepared, changes = [], []
            for row in rows:
                seq += 1
                record = {c: row.get(c) for c in columns}
                record["version"] = seq
                prepared.append(record)
                text = row_json(record)
                row_site = site_of(entity, row)
                if entity == "partner":
                    partner_texts[row["id"]] = text
                sites = links.get(row["id"], set()) if entity == "partner" else {row_site}
                for site in sites:
                    changes.append(
                        {
                            "entity": entity,
                            "row_id": row["id"],
                            "site_id": site,
                            "seq": seq,
                            "client_id": None,
                            "row_site": row_site,
                            "row_json": text,
                        }
                    )
                if entity == "partner_site" and row["partner_id"] in partner_texts:
                    changes.append(
                        {
                            "entity": "partner",
                            "row_id": row["partner_id"],
                            "site_id": row["site_id"],
                            "seq": seq,
                            "client_id": None,
                            "row_site": None,
                            "row_json": partner_texts[row["partner_id"]],
                        }
                    )
            for part in chunks(prepared, 5000):
                connection.execute(insert(table), part)
            upsert_changes(connection, changes)
    if is_postgres(engine):
        # Fresh statistics after a bulk load, or the planner walks the change log the slow way.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in (
                change_table,
                *(SYNCED_TABLES[e] for e in rows_by_entity if e in SYNCED_TABLES),
            ):
                connection.exec_driver_sql(f"ANALYZE {table.name}")
    return total
