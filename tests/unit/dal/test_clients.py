"""The botocore clients: the endpoint comes from AWS_ENDPOINT_URL, timeouts from client_config()."""

from __future__ import annotations

import pytest

from chalicelib import resources
from chalicelib.dal.clients import client_config, make_client, sqs_client_on_first_use


def test_clients_honour_aws_endpoint_url(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    assert make_client("dynamodb", "us-east-1").meta.endpoint_url == "http://127.0.0.1:4599"
    assert make_client("sqs", "us-east-1").meta.endpoint_url == "http://127.0.0.1:4599"


def test_short_timeouts_and_few_retries():
    client = make_client("dynamodb", "us-east-1")
    assert client.meta.config.connect_timeout == client_config().connect_timeout == 1
    assert client.meta.config.read_timeout == 2
    assert client.meta.config.retries["total_max_attempts"] == 3  # the first try and two retries


def test_the_read_timeout_is_the_resources_one_unless_a_test_stack_overrides_it(monkeypatch):
    monkeypatch.delenv(resources.SDK_READ_TIMEOUT_ENV, raising=False)
    client_config.cache_clear()
    assert client_config().read_timeout == resources.SDK_READ_TIMEOUT_SECONDS == 2
    monkeypatch.setenv(resources.SDK_READ_TIMEOUT_ENV, "10")
    client_config.cache_clear()
    try:
        assert make_client("dynamodb", "us-east-1").meta.config.read_timeout == 10
    finally:
        client_config.cache_clear()  # the next test's clients are made with the deployed timeout


def test_the_sqs_client_is_made_on_first_use_with_the_same_configuration(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    stand_in = sqs_client_on_first_use("eu-west-1")
    assert stand_in._client is None  # nothing made at start: a synchronous decision never sends
    assert stand_in.meta.region_name == "eu-west-1"
    assert stand_in.meta.endpoint_url == "http://127.0.0.1:4599"
    assert stand_in.meta.config.read_timeout == client_config().read_timeout
    made = stand_in._client
    assert made is not None and stand_in.exceptions is made.exceptions  # made once, then reused


def test_the_model_loader_knows_this_apps_services_without_listing_botocores_data(monkeypatch):
    import os

    import botocore
    from botocore.exceptions import UnknownServiceError
    from botocore.loaders import Loader

    from chalicelib.dal import clients

    loader = clients._services_loader(None)
    data = os.path.join(os.path.dirname(botocore.__file__), "data")
    listed: list[str] = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(os.fspath(path)) or real_listdir(path))
    for type_name in ("service-2", "endpoint-rule-set-1"):
        # The answer botocore's own listing gives, for this app's services...
        everything = Loader().list_available_services(type_name)
        listed.clear()
        assert loader.list_available_services(type_name) == [s for s in clients.SERVICES if s in everything]
        # ...from one folder per service, never the data folder with every service in it.
        assert data not in listed and len(listed) <= len(clients.SERVICES) * len(loader.search_paths)
    with pytest.raises(UnknownServiceError, match="dynamodb"):  # another service names the known ones
        clients._session().create_client("sts", region_name="us-east-1")
