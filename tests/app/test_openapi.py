"""/openapi.json: an OpenAPI 3.1 document that matches the routes the app really has.

Generated requests against the served app (schemathesis): tests/browser/test_openapi_contract.py.
What a real gunicorn answers, and that each answer is documented: test_gunicorn_refusals.py.
spectral's OpenAPI ruleset: tests/openapi/.
"""

import re

import pytest

PROBLEM, PAGE = "application/problem+json", "text/html"
# What any operation can get: the app's refusals (problem+json) and gunicorn's (text/html).
REFUSALS = {
    "400": {PROBLEM, PAGE},
    "414": {PROBLEM, PAGE},
    "417": {PAGE},
    "431": {PAGE},
    "501": {PAGE},
}


def operations(document: dict) -> dict:
    """Every operation of the document, by "METHOD path"."""
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }


def test_openapi_document_is_served_as_json(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json["openapi"].startswith("3.1")


def test_every_api_route_is_documented_with_its_methods(app, client):
    document = client.get("/openapi.json").json
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/", "/healthz", "/readyz"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served


def test_documented_value_limit_follows_the_setting(make_app):
    document = make_app(max_value_bytes=1234).test_client().get("/openapi.json").json
    put_body = document["components"]["schemas"]["PutBody"]
    assert "1234 bytes" in put_body["properties"]["value"]["description"]


def test_every_documented_reference_resolves(client):
    document = client.get("/openapi.json").json
    references = re.findall(
        r'"\$ref":\s*"#/components/(\w+)/(\w+)"', client.get("/openapi.json").text
    )
    assert {kind for kind, _ in references} == {"schemas", "responses"}
    for kind, name in references:
        assert name in document["components"][kind]


def test_every_operation_has_a_unique_id_a_declared_tag_and_a_description(client):
    document = client.get("/openapi.json").json
    found = operations(document).values()
    declared_tags = {tag["name"] for tag in document["tags"]}
    assert len({operation["operationId"] for operation in found}) == len(found) == 6
    assert all(set(operation["tags"]) <= declared_tags for operation in found)
    assert all(operation["description"] and operation["summary"] for operation in found)


@pytest.mark.parametrize(("status", "media_types"), REFUSALS.items())
def test_every_operation_documents_the_refusals_with_their_media_types(client, status, media_types):
    document = client.get("/openapi.json").json
    for name, operation in operations(document).items():
        answer = operation["responses"][status]
        answer = document["components"]["responses"][answer["$ref"].rpartition("/")[2]]
        assert set(answer["content"]) == media_types, name


def test_with_tokens_every_api_operation_declares_the_bearer_scheme_401_and_429(locked_app):
    document = locked_app.test_client().get("/openapi.json").json
    scheme = document["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for name, operation in operations(document).items():
        if name.split()[1].startswith("/api/"):
            assert operation["security"] == [{"bearerToken": []}], name
            assert {"401", "429"} <= set(operation["responses"]), name
        else:  # orchestrators call /healthz and /readyz without a token
            assert "security" not in operation, name
    responses = document["components"]["responses"]
    assert "WWW-Authenticate" in responses["Unauthorized"]["headers"]
    assert "Retry-After" in responses["TooManyFailures"]["headers"]


def test_an_open_api_declares_no_security(client):
    document = client.get("/openapi.json").json
    assert "securitySchemes" not in document["components"]
    assert all("security" not in operation for operation in operations(document).values())
