"""/openapi.json: an OpenAPI 3.1 document that matches the routes the app really has.

Generated requests against the served app (schemathesis): tests/browser/test_openapi_contract.py.
"""

import re


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
        r'"\$ref":\s*"#/components/schemas/(\w+)"', client.get("/openapi.json").text
    )
    assert references
    assert set(references) <= set(document["components"]["schemas"])
