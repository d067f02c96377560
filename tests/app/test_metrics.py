"""/metrics: Prometheus text with requests by endpoint/method/status, latency, Redis errors."""

import re


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match[1] for k, v in labels.items()):
            return float(match[2])
    return 0.0


def metrics(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.text


def test_requests_are_counted_by_endpoint_method_and_status(client):
    labels = {"endpoint": "api.get_key", "method": "GET", "status": "404"}
    before = sample(metrics(client), "dockerapp_http_requests_total", **labels)
    for _ in range(3):
        client.get("/api/v1/keys/absent")
    after = sample(metrics(client), "dockerapp_http_requests_total", **labels)
    assert after - before == 3


def test_latency_histogram_counts_every_request(client):
    labels = {"endpoint": "health.healthz", "method": "GET"}
    text = metrics(client)
    before = sample(text, "dockerapp_http_request_duration_seconds_count", **labels)
    client.get("/healthz")
    client.get("/healthz")
    text = metrics(client)
    assert sample(text, "dockerapp_http_request_duration_seconds_count", **labels) - before == 2
    assert sample(text, "dockerapp_http_request_duration_seconds_bucket", le="+Inf", **labels) > 0
    assert "# TYPE dockerapp_http_request_duration_seconds histogram" in text


def test_redis_errors_are_counted(flaky_app, forwarder):
    client = flaky_app.test_client()
    before = sample(metrics(client), "dockerapp_redis_errors_total", error="ConnectionError")
    forwarder.cut()
    client.get("/api/v1/keys/k")
    after = sample(metrics(client), "dockerapp_redis_errors_total", error="ConnectionError")
    assert after - before == 1


def test_unmatched_urls_share_one_label(client):
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    text = metrics(client)
    assert sample(text, "dockerapp_http_requests_total", endpoint="unmatched", status="404") >= 2
    assert "/no/such/path" not in text


def test_made_up_methods_share_one_label(client):
    client.open("/healthz", method="BREW")
    client.open("/healthz", method="WHEN")
    text = metrics(client)
    assert sample(text, "dockerapp_http_requests_total", method="other", status="405") >= 2
    assert 'method="BREW"' not in text and 'method="WHEN"' not in text
