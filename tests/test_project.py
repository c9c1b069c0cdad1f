"""Project-wide contracts: the OpenAPI document, problem details on every API error, the `kamguard` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kamguard.cli import COMMANDS

PROBLEM = "application/problem+json"
API = "/api/v1"


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    """An RFC 9457 problem: the right status and media type, the standard members, and no stack trace."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].split(";")[0].strip() == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status
    for member in ("type", "title", "detail", "instance"):
        assert isinstance(body[member], str) and body[member], member
    text = response.content.decode()
    assert "Traceback" not in text
    assert 'File "' not in text
    assert ".py" not in text
    return body


# ---------------------------------------------------------------- the OpenAPI document and its docs page

def test_openapi_document_is_openapi_3_1(client, db):
    response = client.get(f"{API}/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    assert document["paths"], "the API has no operations"
    assert any(path.startswith(f"{API}/org/") for path in document["paths"])


def test_api_docs_page_renders(client, db):
    response = client.get(f"{API}/docs")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"openapi.json" in response.content


# ---------------------------------------------------------------- errors are problem details

def test_no_credentials_gives_401_problem(client, db):
    # given: no session and no token
    # when
    response = client.get(f"{API}/org/users")
    # then
    body = assert_problem(response, 401)
    assert body["code"] == "not_authenticated"
    assert "Bearer" in response["WWW-Authenticate"]


def test_bad_token_gives_401_problem(client, db):
    response = client.get(f"{API}/org/users", headers={"Authorization": "Bearer kg_not-a-real-token"})

    assert_problem(response, 401)


def test_unknown_id_gives_404_problem(world, client_for):
    # given: an administrator, who may see everyone
    admin = client_for(world.adam)
    # when
    response = admin.get(f"{API}/org/users/987654321")
    # then
    body = assert_problem(response, 404)
    assert body["code"] == "not_found"


def test_out_of_scope_id_looks_like_missing(world, client_for):
    # given: alice (a manager in the East region) asks for carol, who sits in the West region
    alice = client_for(world.alice)
    # when
    hidden = alice.get(f"{API}/org/users/{world.carol.pk}")
    missing = alice.get(f"{API}/org/users/987654321")
    # then: "forbidden" and "missing" cannot be told apart
    assert_problem(hidden, 404)
    assert_problem(missing, 404)
    assert json.loads(hidden.content)["title"] == json.loads(missing.content)["title"]


def test_bad_body_gives_422_problem_naming_the_field(world, client_for):
    admin = client_for(world.adam)

    response = admin.post(f"{API}/org/departments", data={"parent_id": "not a number"},
                          content_type="application/json")

    body = assert_problem(response, 422)
    assert body["code"] == "validation_failed"
    assert {error["field"] for error in body["errors"]} >= {"name"}


def test_malformed_json_gives_a_problem_not_a_500(world, client_for):
    admin = client_for(world.adam)

    response = admin.post(f"{API}/org/departments", data="{not json", content_type="application/json")

    assert response.status_code in {400, 422}
    assert_problem(response, response.status_code)


def test_unknown_api_path_gives_404_problem(world, client_for):
    admin = client_for(world.adam)

    response = admin.get(f"{API}/no-such-thing")

    assert_problem(response, 404)


def test_method_not_allowed_gives_405_problem(world, client_for):
    admin = client_for(world.adam)

    response = admin.delete(f"{API}/org/users/me")

    assert_problem(response, 405)


def test_refusal_gives_403_problem_and_changes_nothing(world, client_for):
    # given: a manager may not create departments
    from kamguard.org.models import Department

    before = Department.objects.count()
    alice = client_for(world.alice)
    # when
    response = alice.post(f"{API}/org/departments", data={"name": "偷建部门"}, content_type="application/json")
    # then
    assert_problem(response, 403)
    assert Department.objects.count() == before


# ---------------------------------------------------------------- the `kamguard` command

def _kamguard() -> list[str]:
    """The installed console script (what `uv run kamguard` runs), from the environment running the tests."""
    beside = Path(sys.executable).with_name("kamguard")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("kamguard")
    if found:
        return [found]
    return [sys.executable, "-m", "kamguard.cli"]


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAMGUARD_", "DJANGO_"))}
    env["KAMGUARD_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run([*_kamguard(), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_kamguard_help_lists_every_command(flag, tmp_path):
    result = _run(flag, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert name in result.stdout


def test_kamguard_without_arguments_prints_usage(tmp_path):
    result = _run(tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "usage: kamguard" in result.stdout


@pytest.mark.parametrize("command", sorted(name for name in COMMANDS if name != "manage"))
def test_kamguard_command_help_exits_0(command, tmp_path):
    result = _run(command, "--help", tmp_path=tmp_path)

    assert result.returncode == 0, f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.stdout.strip()
    assert "Traceback" not in result.stderr


def test_kamguard_manage_help_exits_0(tmp_path):
    result = _run("manage", "check", "--help", tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]


def test_kamguard_unknown_command_exits_2(tmp_path):
    result = _run("no-such-command", tmp_path=tmp_path)

    assert result.returncode == 2
    assert "unknown command" in result.stderr
    assert "Traceback" not in result.stderr


def test_kamguard_help_does_not_write_outside_its_data_dir(tmp_path):
    _run("--help", tmp_path=tmp_path)

    assert not (tmp_path / "data" / "kamguard.sqlite3").exists()
