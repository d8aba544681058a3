"""A learner's personal data: the export holds everything about them; erasing wipes it and leaves
an outbox "erase" mutation."""

from __future__ import annotations

import json

import pytest

from fabriqueterm.domain.ids import follow_up_id
from fabriqueterm.reports.personal_data import (
    LearnerNotFound,
    erase_learner,
    erase_preview,
    personal_data,
    personal_data_json,
)
from fabriqueterm.reports.summary import weekly_summary


def test_export_holds_everything_about_the_learner(network):
    store, learner_id = network.store, network.learners["a1"]
    data = json.loads(personal_data_json(store, learner_id))
    profile = data["learner"]
    assert profile["id"] == learner_id
    assert (profile["first_name"], profile["last_name"]) == ("ZelphineA1", "QuarndtA1")
    assert profile["email"] == "zq.a1@mail.example.org" and profile["phone"].startswith("+33671")
    assert profile["status"] == "graduated" and profile["gender_label"] == "woman"
    assert profile["prescriber"]["name"] == "Mission locale Lyon"
    assert profile["erased"] is False
    assert data["cohort"]["name"] == "Dev web 2026" and data["site"]["name"] == "Fabrique Lyon"
    [placement] = data["placements"]
    assert (placement["kind"], placement["partner"], placement["job_title"]) == (
        "cdi",
        "Numériq SA",
        "Technicienne support",
    )
    assert sorted(f["milestone"] for f in data["follow_ups"]) == ["end", "m3", "m6"]
    reached = [f for f in data["follow_ups"] if f["outcome"] == "reached"]
    assert reached[0]["done_date"] == "2026-07-02"
    operations = {(e["entity"], e["operation"]) for e in data["outbox"]}
    assert {
        ("learner", "create"),
        ("placement", "create"),
        ("follow_up", "create"),
        ("follow_up", "update"),
    } <= operations
    # Each follow-up holds its call attempts (issue 12, finding 1).
    [end] = [f for f in data["follow_ups"] if f["milestone"] == "end"]
    assert [(a["date"], a["outcome_label"], a["channel"]) for a in end["attempts"]] == [
        ("2026-07-02", "reached", "phone")
    ]
    attempt_ids = {a["id"] for f in data["follow_ups"] for a in f["attempts"]}
    assert ("follow_up_attempt", "create") in operations
    assert all(
        e["row_id"]
        in {learner_id, placement["id"], *(f["id"] for f in data["follow_ups"]), *attempt_ids}
        for e in data["outbox"]
    )
    # The history of their record: each change on this device, before and after.
    history = {(h["entity"], h["operation"]) for h in data["history"]}
    assert {("learner", "create"), ("placement", "create"), ("follow_up", "update")} <= history
    created = next(
        h for h in data["history"] if (h["entity"], h["operation"]) == ("learner", "create")
    )
    assert created["source"] == "local"
    assert created["changes"]["last_name"] == {"before": None, "after": "QuarndtA1"}


def test_export_holds_nothing_about_others(network):
    text = personal_data_json(network.store, network.learners["a1"])
    assert "ZelphineA2" not in text and "zq.a2@" not in text


def test_unknown_learner_raises(network):
    with pytest.raises(LearnerNotFound):
        personal_data(network.store, "no-such-learner")
    with pytest.raises(LearnerNotFound):
        erase_learner(network.store, "no-such-learner")


def test_erase_wipes_and_leaves_an_outbox_erase(network):
    store, learner_id = network.store, network.learners["a4"]
    preview = erase_preview(store, learner_id)
    assert (
        preview.name == "ZelphineA4 QuarndtA4"
        and preview.follow_ups == 3
        and not preview.already_erased
    )
    enrolled_before = weekly_summary(store, "2026-W48").total.indicators.enrolled
    said = "Rappeler après 18h, vit chez sa sœur à Villeurbanne"
    call = store.follow_ups.log_attempt(
        follow_up_id(learner_id, "m3"),
        {"attempted_on": "2026-11-27", "outcome": "message_left", "notes": said},
    ).attempt
    erase_learner(store, learner_id)
    data = personal_data(store, learner_id)
    profile = data["learner"]
    assert profile["erased"] is True and profile["deleted_at"] is not None
    for name in ("first_name", "last_name", "email", "phone", "birth_year", "dropout_reason"):
        assert profile[name] in (None, ""), name
    assert all(p["notes"] == "" for p in data["placements"])
    attempts = [a for f in data["follow_ups"] for a in f["attempts"]]
    assert call.id in {a["id"] for a in attempts} and all(a["notes"] == "" for a in attempts)
    # The unsent attempt goes to the commons without what was said about the person.
    assert said not in json.dumps([e.fields for e in store.outbox.entries(limit=10_000)])
    last = store.outbox.entries(limit=10_000)[-1]
    assert (last.entity, last.row_id, last.op) == ("learner", learner_id, "erase")
    assert last.fields["first_name"] == "" and last.fields["email"] is None
    assert erase_preview(store, learner_id).already_erased
    # An erased learner is a tombstone: no longer counted.
    assert weekly_summary(store, "2026-W48").total.indicators.enrolled == enrolled_before - 1
