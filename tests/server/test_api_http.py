"""The HTTP surface, in process: bad input never yields a 500, auth, size limits, the checked-in
OpenAPI schema, and a property-based run (schemathesis) against that schema."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from commons_helpers import COHORT, World, make_world
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from fabriqueterm.domain.ids import uuid7
from fabriqueterm.server import admin
from fabriqueterm.server.app import create_app, openapi_document
from fabriqueterm.sync.protocol import MAX_PUSH_BYTES, MAX_PUSH_MUTATIONS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["protocol_version"] == 1


@pytest.mark.parametrize(
    "path,method", [("/v1/me", "get"), ("/v1/pull", "post"), ("/v1/push", "post")]
)
def test_missing_bad_and_revoked_tokens_get_401(world: World, path: str, method: str) -> None:
    body = {"client_id": uuid7(), "mutations": []} if path == "/v1/push" else {}
    token = admin.issue_token(world.engine, email=world.email_a).value
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": f"Bearer {token}x"},
    ):
        response = world.http.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["detail"] and response.headers["www-authenticate"] == "Bearer"
    assert (
        world.http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    admin.revoke_token(world.engine, token_or_id=token[:10])
    assert (
        world.http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


def test_malformed_json_and_wrong_types_get_422(world: World) -> None:
    device = world.device()
    headers = {**device.headers, "Content-Type": "application/json"}
    for body in (
        b"{not json",
        b"[]",
        b'{"client_id": 5, "mutations": "x"}',
    ):
        response = world.http.post("/v1/push", content=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert "detail" in response.json()
    # A bad item in a good envelope is answered on its own (tests/server/test_push_isolation.py).
    for body in (
        b'{"client_id": "abcdefgh", "mutations": [{"seq": "one"}]}',
        '{"client_id": "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "mutations": [{"seq": 1, "entity": "cohort", "id": "x", "op": "explode"}]}'.encode(),
    ):
        response = world.http.post("/v1/push", content=body, headers=headers)
        assert response.status_code == 200, (body, response.text)
        assert response.json()["results"][0]["status"] == "rejected"
    response = world.http.post(
        "/v1/pull", content=b'{"cursors": {"x": "y"}, "limit": 10}', headers=headers
    )
    assert response.status_code == 422
    locations = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert ("body", "limit") in locations


def test_nan_and_odd_values_in_fields_are_rejected_not_500(world: World) -> None:
    device = world.device()
    cohort = device.create_cohort(world.site_a1)
    body = json.dumps(
        {
            "client_id": device.client_id,
            "mutations": [
                device.mutation(
                    "cohort",
                    cohort,
                    "update",
                    {"capacity": float("nan"), "name": {"a": [1]}},
                    base_values={"capacity": float("inf")},
                ),
                device.mutation(
                    "cohort",
                    cohort,
                    "update",
                    {"start_date": "31/02/2026", "status": None},
                    base_values={},
                ),
            ],
        }
    ).encode()
    response = world.http.post(
        "/v1/push", content=body, headers={**device.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "rejected"]


def test_oversized_batches_get_413_with_the_limits(world: World) -> None:
    device = world.device()
    too_many = [
        device.mutation("cohort", uuid7(), "create", {**COHORT, "site_id": world.site_a1})
        for _ in range(MAX_PUSH_MUTATIONS + 1)
    ]
    response = device.push_raw(too_many)
    assert response.status_code == 413
    assert (
        response.json()["max_mutations"] == MAX_PUSH_MUTATIONS
        and response.json()["max_bytes"] == MAX_PUSH_BYTES
    )
    huge = {
        "client_id": device.client_id,
        "mutations": [
            device.mutation("cohort", uuid7(), "update", {"name": "x" * (MAX_PUSH_BYTES + 10)})
        ],
    }
    response = world.http.post("/v1/push", json=huge, headers=device.headers)
    assert response.status_code == 413 and response.json()["max_bytes"] == MAX_PUSH_BYTES
    # Nothing was taken: the numbers were not consumed.
    assert device.push_raw([]).json()["last_applied_seq"] == 0


def differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Where two JSON documents differ, as ``/paths/~1v1~1push/post``-like locations."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            here = f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in old or key not in new:
                found.append(f"{here} ({'added' if key not in old else 'removed'})")
            else:
                found += differences(old[key], new[key], here)
        return found
    return [] if old == new else [where or "/"]


def test_checked_in_openapi_matches_the_app(app: Any) -> None:
    """The API the server serves is the one the repository documents: compared as JSON (what it
    says), not as text, so that how a library formats the file cannot fail the test."""
    checked_in = json.loads((REPO / "openapi.json").read_text(encoding="utf-8"))
    served = json.loads(openapi_document(app))
    assert differences(checked_in, served) == [], (
        "openapi.json is stale: run `python -m fabriqueterm.server.openapi > openapi.json`"
    )


def test_the_openapi_comparison_names_what_changed() -> None:
    old = {"paths": {"/v1/push": {"post": {"summary": "Push"}}}, "info": {"version": "1"}}
    new = {
        "paths": {"/v1/push": {"post": {"summary": "Send"}}, "/v1/x": {}},
        "info": {"version": "1"},
    }
    assert differences(old, new) == ["/paths/~1v1~1push/post/summary", "/paths/~1v1~1x (added)"]
    assert differences(old, json.loads(json.dumps(old, indent=4))) == []


def test_openapi_documents_every_endpoint_with_the_shared_models(app: Any) -> None:
    schema = app.openapi()
    assert set(schema["paths"]) == {"/v1/health", "/v1/me", "/v1/push", "/v1/pull"}
    push = schema["paths"]["/v1/push"]["post"]
    assert push["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PushRequest"
    )
    assert {"200", "401", "413", "422"} <= set(push["responses"])


# --- property-based run against the app's own schema ---------------------------------------------


@pytest.fixture(scope="module")
def fuzz_setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    application = create_app(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'commons.sqlite3'}")
    with TestClient(application) as http:
        world = make_world(application.state.engine, http)
    return {"app": application, "token": world.token_a}


@pytest.fixture(scope="module")
def api_schema(fuzz_setup: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_asgi("/v1/openapi.json", fuzz_setup["app"])


schema = schemathesis.pytest.from_fixture("api_schema")


def negative_data_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """Invalid input refused with a 4xx, except a push's mutations: the commons answers each on its
    own (docs/sync.md), so a batch holding a bad one is a 200 whose bad items are rejected, and the
    good ones beside it applied. tests/server/test_push_isolation.py and test_rules_both_sides.py
    check those answers item by item; here a push only has to answer 200 within its schema."""
    if response.status_code == 200 and case.path == "/v1/push":
        return None
    return negative_data_rejection(ctx, response, case)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FABRIQUETERM_FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, fuzz_setup: dict[str, Any]) -> None:
    # No 5xx, documented status codes and bodies, and invalid input refused. (Valid-looking input may
    # still be refused: text holding NUL or unpaired surrogates cannot be stored, so it gets 422.)
    # A push answers each item on its own: a bad item is a rejected result in a 200 (see
    # negative_data_refused; tests/server/test_push_isolation.py checks the envelope's 422s).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_setup['token']}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_refused,
        ],
    )
