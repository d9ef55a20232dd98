"""The botocore clients: the endpoint comes from AWS_ENDPOINT_URL, timeouts from client_config()."""

from __future__ import annotations

from chalicelib.dal.clients import client_config, make_client


def test_clients_honour_aws_endpoint_url(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    assert make_client("dynamodb", "us-east-1").meta.endpoint_url == "http://127.0.0.1:4599"
    assert make_client("sqs", "us-east-1").meta.endpoint_url == "http://127.0.0.1:4599"


def test_short_timeouts_and_few_retries():
    client = make_client("dynamodb", "us-east-1")
    assert client.meta.config.connect_timeout == client_config().connect_timeout == 1
    assert client.meta.config.read_timeout == 2
    assert client.meta.config.retries["total_max_attempts"] == 3  # the first try and two retries
