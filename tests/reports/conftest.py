"""A small network built through the repositories, whose weekly figures for 2026-W48
(Monday 23 to Sunday 29 November 2026) are worked out by hand in test_summary.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from fabriqueterm.config import Paths
from fabriqueterm.domain.dates import Clock
from fabriqueterm.domain.ids import follow_up_id
from fabriqueterm.i18n import DEFAULT_LANGUAGE, set_language
from fabriqueterm.store.db import Store

TODAY = date(2026, 11, 25)  # Wednesday of 2026-W48


@pytest.fixture(autouse=True)
def own_home(fabriqueterm_home: Path) -> Iterator[Path]:
    """The test's own home (tests/conftest.py), with English messages: assertions read them."""
    set_language("en")
    yield fabriqueterm_home
    set_language(DEFAULT_LANGUAGE)


@dataclass
class Network:
    store: Store
    sites: dict[str, str] = field(default_factory=dict)
    cohorts: dict[str, str] = field(default_factory=dict)
    learners: dict[str, str] = field(default_factory=dict)
    #: Every personal value of every learner: must appear in no summary.
    personal: list[str] = field(default_factory=list)


def _on(store: Store, day: date) -> None:
    store.clock = Clock(day)


def _learner(net: Network, key: str, cohort: str, created: date, **values: object) -> str:
    store = net.store
    _on(store, created)
    index = len(net.learners) + 1
    data = {
        "cohort_id": net.cohorts[cohort],
        "first_name": f"Zelphine{key.upper()}",
        "last_name": f"Quarndt{key.upper()}",
        "email": f"zq.{key}@mail.example.org",
        "phone": f"06 71 42 {index:02d} {index + 10:02d}",
        "birth_year": 1990 + index,
        "gender": "F",
        "qualification": "4",
        **values,
    }
    learner = store.learners.create(data)
    net.learners[key] = learner.id
    net.personal += [
        learner.first_name,
        learner.last_name,
        learner.email,
        learner.phone,
        f"06 71 42 {index:02d} {index + 10:02d}",
    ]
    return learner.id


def build_network(store: Store) -> Network:
    """Three sites; hand-computed figures in test_summary.py."""
    net = Network(store)
    _on(store, date(2026, 1, 2))
    net.sites["lyon"] = store.sites.create({"name": "Fabrique Lyon", "city": "Lyon"}).id
    net.sites["roubaix"] = store.sites.create({"name": "Fabrique Roubaix", "city": "Roubaix"}).id
    net.sites["empty"] = store.sites.create({"name": "Fabrique Vide", "city": "Brest"}).id
    prescriber = store.partners.create_for_sites(
        {"name": "Mission locale Lyon", "kinds": "prescriber"}, [net.sites["lyon"]]
    )
    employer = store.partners.create_for_sites(
        {"name": "Numériq SA", "kinds": "employer"}, [net.sites["lyon"]]
    )
    net.cohorts["A1"] = store.cohorts.create(
        {
            "site_id": net.sites["lyon"],
            "name": "Dev web 2026",
            "programme": "Développeur·se web",
            "start_date": "2026-01-05",
            "end_date": "2026-06-30",
            "status": "finished",
        }
    ).id
    net.cohorts["A2"] = store.cohorts.create(
        {
            "site_id": net.sites["lyon"],
            "name": "TAI 2026-2027",
            "programme": "Technicien·ne d'assistance",
            "start_date": "2026-09-07",
            "end_date": "2027-03-31",
            "status": "running",
        }
    ).id
    net.cohorts["B1"] = store.cohorts.create(
        {
            "site_id": net.sites["roubaix"],
            "name": "Data 2026-2027",
            "programme": "Data analyst",
            "start_date": "2026-10-01",
            "end_date": "2027-06-30",
            "status": "running",
        }
    ).id

    jan5 = date(2026, 1, 5)
    # Lyon, A1 (ended 30 June 2026): three completers, one dropout, one candidate.
    _learner(
        net,
        "a1",
        "A1",
        jan5,
        qpv=True,
        job_seeker=True,
        status="graduated",
        prescriber_id=prescriber.id,
    )
    _learner(
        net, "a2", "A1", jan5, gender="M", qualification="5", job_seeker=True, status="certified"
    )
    _learner(
        net,
        "a3",
        "A1",
        jan5,
        qpv=True,
        qualification="none",
        refugee=True,
        status="dropped_out",
        dropout_date="10/03/2026",
        dropout_reason="Déménagement à Zanzibarville",
    )
    _learner(net, "a4", "A1", jan5, gender="X", qualification="3", status="graduated")
    _learner(net, "a5", "A1", jan5, status="candidate")
    # Lyon, A2 (running).
    _learner(net, "a6", "A2", date(2026, 11, 24), status="enrolled")  # new this week
    _learner(
        net,
        "a7",
        "A2",
        date(2026, 9, 7),
        gender="M",
        qualification="6",
        job_seeker=True,
        status="enrolled",
    )
    _learner(
        net,
        "a8",
        "A2",
        date(2026, 9, 7),
        gender="M",
        qualification="3",
        status="dropped_out",
        dropout_date="2026-11-27",
        dropout_reason="Emploi trouvé chez Quixoplex",
    )  # dropout this week
    _learner(net, "a9", "A2", date(2026, 11, 23), status="candidate")  # new but a candidate
    gone = _learner(
        net, "a10", "A2", date(2026, 11, 24), status="enrolled"
    )  # deleted: never counted
    store.learners.delete(gone)
    # Roubaix, B1 (running).
    _learner(net, "b1", "B1", date(2026, 11, 25), qpv=True, status="enrolled")
    _learner(
        net,
        "b2",
        "B1",
        date(2026, 11, 29),
        gender="M",
        qualification="5",
        job_seeker=True,
        status="enrolled",
    )
    _learner(
        net,
        "b3",
        "B1",
        date(2026, 10, 1),
        qualification="none",
        status="dropped_out",
        dropout_date="2026-11-20",
    )  # dropped out the week before

    # Placements: logged this week (cdi, other, apprenticeship) and one logged in October.
    _on(store, date(2026, 10, 5))
    store.placements.create(
        {"learner_id": net.learners["a2"], "kind": "further_training", "start_date": "2026-10-01"}
    )
    _on(store, date(2026, 11, 24))
    store.placements.create(
        {
            "learner_id": net.learners["a1"],
            "kind": "cdi",
            "start_date": "2026-07-15",
            "partner_id": employer.id,
            "job_title": "Technicienne support",
        }
    )
    store.placements.create(
        {"learner_id": net.learners["a4"], "kind": "other", "start_date": "2026-08-01"}
    )
    store.placements.create(
        {"learner_id": net.learners["b1"], "kind": "apprenticeship", "start_date": "2026-11-23"}
    )
    dropped = store.placements.create(
        {"learner_id": net.learners["a7"], "kind": "cdi", "start_date": "2026-11-23"}
    )
    store.placements.delete(dropped.id)  # deleted: never counted

    # Follow-ups (generated for a1, a2, a4 at end, +3, +6 months).
    def done(learner: str, milestone: str, day: str, outcome: str) -> None:
        store.follow_ups.log_attempt(
            follow_up_id(net.learners[learner], milestone),
            {
                "attempted_on": day,
                "channel": "phone",
                "outcome": outcome,
                "situation": "still_looking" if outcome == "reached" else "",
            },
        )

    done("a1", "end", "2026-07-02", "reached")  # reached at the first call
    done("a2", "end", "2026-11-24", "no_answer")  # still open: call back on 26/11
    done("a2", "m3", "2026-11-20", "message_left")
    done("a2", "m3", "2026-11-26", "reached")  # reached at the second call
    # a4's end follow-up: three unanswered calls over 15 days, closed as unreachable this week.
    done("a4", "end", "2026-11-02", "no_answer")
    done("a4", "end", "2026-11-09", "message_left")
    done("a4", "end", "2026-11-17", "no_answer")
    store.follow_ups.close_unreachable(follow_up_id(net.learners["a4"], "end"), date(2026, 11, 25))
    _on(store, TODAY)
    return net


@pytest.fixture(scope="session")
def network_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Network]:
    """The network built once; each test gets its own copy of the database file."""
    path = tmp_path_factory.mktemp("template") / "fabriqueterm.sqlite3"
    with Store.open(path, clock=Clock(TODAY)) as built:
        net = build_network(built)
    return path, net


@pytest.fixture
def network(network_template: tuple[Path, Network], own_home: Path) -> Network:
    template, built = network_template
    target = Paths.default().database
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for suffix in ("", "-wal"):
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", f"{target}{suffix}")
    with Store.open(target, clock=Clock(TODAY)) as opened:
        yield Network(
            opened,
            dict(built.sites),
            dict(built.cohorts),
            dict(built.learners),
            list(built.personal),
        )
