def test_openapi_schema_is_served(api_for, alice):
    response = api_for(alice).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/companies/" in response.json()["paths"]


def test_interactive_docs_page_is_served(client_for, alice):
    assert client_for(alice).get("/api/docs/").status_code == 200
    assert client_for(alice).options("/api/docs/").status_code == 405  # was a 500: no template for its metadata


def test_token_is_issued_for_integrators(client, alice):
    from tests.conftest import PASSWORD

    response = client.post("/api/token/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["token"]


def test_errors_share_one_shape(api_for, carol, beijing):
    response = api_for(carol).patch(f"/api/companies/{beijing.pk}/", {"name": ""}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "name" in error["fields"]


def test_another_companys_object_is_not_found_in_the_error_shape(api_for, alice, xian):
    response = api_for(alice).get(f"/api/companies/{xian.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unauthenticated_api_calls_get_the_error_shape(client):
    response = client.get("/api/companies/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_health_reports_database(client, db):
    assert client.get("/health/").json()["database"] == "ok"


def test_openapi_schema_generates_without_warnings():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
