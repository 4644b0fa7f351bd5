"""The local AWS's cheaper request path answers as moto's own (cli/local/request_path.py)."""

from __future__ import annotations

import logging
import os
import string

import pytest
from itest.cli.local import request_path
from itest.cli.local.server import LocalAws
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import create_backend_app

HOSTS = [
    "dynamodb",
    "dynamodb_v20111205",
    "moto_api",
    None,
    "states.us-east-1.amazonaws.com",
    "lambda.eu-west-1.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "s3.us-east-1.amazonaws.com",
    "s3control",
    "nothing.example",
]


def test_the_dispatcher_finds_moto_s_backend_once_per_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_s = DomainDispatcherApplication(create_backend_app)
    ours = request_path.Dispatcher(create_backend_app)
    expected = [moto_s.get_backend_for_host(host) for host in HOSTS]
    assert [ours.get_backend_for_host(host) for host in HOSTS] == expected

    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or real_listdir(path))
    assert [ours.get_backend_for_host(host) for host in HOSTS] == expected
    assert listed == []  # remembered: moto's folder is not listed again
    assert "nothing.example" not in capsys.readouterr().out


def test_a_request_reaches_the_backend_its_service_names(aws: LocalAws) -> None:
    """Service after service on one server: each answer is its own service's."""
    for _ in range(2):  # the second round is answered from the remembered backends
        assert "TableNames" in aws.client("dynamodb").list_tables()
        assert "stateMachines" in aws.client("stepfunctions").list_state_machines()
        assert "Functions" in aws.client("lambda").list_functions()
        assert aws.client("sts").get_caller_identity()["Account"] == aws.account_id


def test_the_action_names_kept_are_the_class_s(aws: LocalAws) -> None:
    from moto.core import responses
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.responses import DynamoHandler
    from moto.stepfunctions.responses import StepFunctionResponse

    assert responses.method_names_from_class is not method_names_from_class  # installed
    for cls in (DynamoHandler, StepFunctionResponse, DynamoHandler):
        assert responses.method_names_from_class(cls) == method_names_from_class(cls)


def test_made_up_strings_keep_their_alphabet_and_follow_moto_s_seed(aws: LocalAws) -> None:
    from moto.moto_api._internal import mock_random

    drawn = mock_random.get_random_string(length=52)
    assert len(drawn) == 52 and set(drawn) <= set(string.ascii_letters + string.digits)
    letters = mock_random.get_random_string(length=200, include_digits=False, lower_case=True)
    assert set(letters) <= set(string.ascii_lowercase)
    mock_random.seed(7)
    first = mock_random.get_random_string()
    mock_random.seed(7)
    assert mock_random.get_random_string() == first


def test_request_lines_are_logged_when_asked_for(
    aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    client = aws.client("dynamodb")
    client.list_tables()  # connected: the next request is on a kept connection
    with caplog.at_level(logging.WARNING, logger="werkzeug"):
        client.list_tables()
    assert not [r for r in caplog.records if r.name == "werkzeug" and r.levelno == logging.INFO]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        client.list_tables()
    assert [r for r in caplog.records if r.name == "werkzeug" and "POST / " in r.getMessage()]
