"""No existence oracle (issue #13, finding 8): an id or a client_id held by another coordinator
is answered exactly like one nobody holds — the whole answer (HTTP status, statuses, reasons and
messages), not only its status. The one documented exception is a create reusing an id that
exists out of scope (docs/sync.md, "Ids out of scope"): it cannot be applied, so its answer
differs from a fresh id's, and it carries nothing of the row."""

from __future__ import annotations

import json
from typing import Any

import pytest
from commons_helpers import COHORT, LEARNER, Device, World

from fabriqueterm.domain.ids import uuid7

CASES: dict[str, int] = {}


def _whole(response: Any, *sent: str) -> tuple[int, str]:
    """The HTTP status and the body, with what the client itself sent (ids, client id) masked."""
    body = response.text
    for value in sent:
        body = body.replace(value, "<sent>")
    answer = json.loads(body)
    for result in answer.get("results", []):
        result.pop("seq", None)
    return response.status_code, json.dumps(answer, sort_keys=True)


@pytest.fixture
def b_learner(world: World) -> tuple[Device, str, str]:
    b = world.device("b")
    cohort = b.create_cohort(world.site_b1)
    learner = b.create_learner(world.site_b1, cohort, first_name="Yasmine", last_name="Secret")
    return b, cohort, learner


@pytest.mark.parametrize(
    ("op", "fields"),
    [("update", {"first_name": "X"}), ("delete", {}), ("erase", {})],
)
def test_update_delete_erase_of_b_id_answer_exactly_like_an_unknown_id(
    world: World, b_learner: tuple[Device, str, str], op: str, fields: dict[str, Any]
) -> None:
    _b, _cohort, learner = b_learner
    unknown = uuid7()
    answers = []
    for row_id in (learner, unknown):
        a = world.device("a")
        response = a.push_raw(
            [
                a.mutation(
                    "learner",
                    row_id,
                    op,
                    fields,
                    base_version=1,
                    base_values={"first_name": "Y"} if fields else {},
                )
            ]
        )
        answers.append(_whole(response, row_id, a.client_id))
    CASES[op] = CASES.get(op, 0) + 1
    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and '"not_found"' in answers[0][1]


def test_a_create_with_b_id_is_refused_without_content_as_documented(
    world: World, b_learner: tuple[Device, str, str]
) -> None:
    """Documented limit (docs/sync.md, "Ids out of scope"): the create cannot be applied (the id
    is taken), so its answer is ``id_unavailable`` where a fresh id is applied. It holds nothing
    of B's rows: the same answer for two of B's learners, whatever their content."""
    b, b_cohort, learner = b_learner
    other = b.create_learner(world.site_b1, b_cohort, first_name="Autre", last_name="Personne")
    a = world.device("a")
    cohort = a.create_cohort(world.site_a1)
    answers = []
    for row_id in (learner, other):
        device = world.device("a")
        response = device.push_raw(
            [
                device.mutation(
                    "learner",
                    row_id,
                    "create",
                    {**LEARNER, "site_id": world.site_a1, "cohort_id": cohort},
                )
            ]
        )
        answers.append(_whole(response, row_id, device.client_id))
    CASES["create"] = 2
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    assert '"id_unavailable"' in answers[0][1] and "Secret" not in answers[0][1]
    assert '"row": null' in answers[0][1]


def test_b_client_id_answers_exactly_like_a_fresh_one(
    world: World, b_learner: tuple[Device, str, str]
) -> None:
    b, _cohort, _learner = b_learner
    answers = []
    for client_id in (b.client_id, uuid7()):
        a = world.device("a")
        a.client_id = client_id
        response = a.push_raw(
            [a.mutation("cohort", uuid7(), "create", {**COHORT, "site_id": world.site_a1})]
        )
        answers.append(
            _whole(response, client_id, *[r["id"] for r in response.json().get("results", [])])
        )
    CASES["client_id"] = 1
    assert answers[0][0] == 200, answers[0]
    assert _without_row_times(answers[0][1]) == _without_row_times(answers[1][1])
    # Each coordinator has its own numbering under that id: B goes on where it was.
    assert json.loads(answers[0][1])["last_applied_seq"] == 1
    next_b = b.push_one("cohort", uuid7(), "create", {**COHORT, "site_id": world.site_b1})
    assert next_b["status"] == "applied"


def _without_row_times(body: str) -> str:
    answer = json.loads(body)
    for result in answer.get("results", []):
        if result.get("row"):
            for key in ("version", "created_at", "updated_at", "id"):
                result["row"].pop(key, None)
    return json.dumps(answer, sort_keys=True)


def test_a_shared_client_id_never_confuses_who_made_a_value(world: World) -> None:
    """A uses B's client_id; a conflict on B's row still names B (not A) as the author of the
    commons' value, and B's device is still recognised as the maker of its own tombstones."""
    b, b2 = world.device("b"), world.device("b")
    a = world.device("a")
    a.client_id = b.client_id
    a.create_cohort(world.site_a1)  # A pushes under B's client id first
    cohort = b.create_cohort(world.site_b1)
    version = b.pull_all()[0][("cohort", cohort)]["version"]
    b.rename_cohort(cohort, "Promo B", version, COHORT["name"])
    result = b2.rename_cohort(cohort, "Promo C", version, COHORT["name"])
    assert result["status"] == "conflict"
    [conflict] = result["conflicts"]
    assert conflict["server_author_name"] == "Bruno Coordinateur"
    # A deletes its own cohort; B's device (same client_id string) editing a row A deleted is
    # not taken for the maker of that tombstone: B cannot even see it.
    CASES["shared client_id authorship"] = 1
