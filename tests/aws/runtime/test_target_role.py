"""Two kinds of credentials: actions run in the target role, the engine in its own."""

from __future__ import annotations

import json

import pytest
from itest.lambdas import aws
from itest.lambdas.actions.registry import run_action
from itest.lambdas.errors import ConfigError


@pytest.fixture
def target_role(monkeypatch: pytest.MonkeyPatch):
    trust = {"Version": "2012-10-17", "Statement": []}
    arn = aws.client("iam").create_role(
        RoleName="itest-targets", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    monkeypatch.setenv("TARGET_ROLE_ARN", arn)
    aws.forget_target_session()
    yield arn
    aws.forget_target_session()


def test_actions_call_targets_in_the_assumed_role(target_role: str) -> None:
    aws.client("s3").create_bucket(Bucket="receipts")

    run_action("s3.put_object", {"bucket": "receipts", "key": "k", "body": "x"})

    used = aws.target_client("sts").get_caller_identity()["Arn"]
    assert used.endswith(":assumed-role/itest-targets/itest-targets")
    own = aws.client("sts").get_caller_identity()["Arn"]
    assert "assumed-role/itest-targets" not in own  # the engine keeps its own credentials
    assert aws.target_client("s3") is aws.target_client("s3")  # one session, reused


def test_the_session_is_renewed_before_it_expires(target_role: str) -> None:
    first = aws.target_client("s3")
    aws._target["expires"] = 0.0  # as if it were about to expire
    assert aws.target_client("s3") is not first


def test_without_a_target_role_actions_use_the_functions_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TARGET_ROLE_ARN", raising=False)
    engine, target = aws.client("sts"), aws.target_client("sts")

    assert target.get_caller_identity()["Arn"] == engine.get_caller_identity()["Arn"]
    assert target is aws.target_client("sts")  # one client, reused


def test_only_the_engine_s_own_calls_skip_checking_parameters_in_the_client(
    target_role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ParamValidationError

    def checks(dynamodb: object) -> bool:
        try:
            dynamodb.list_tables(Limit="ten")  # type: ignore[attr-defined]
        except ParamValidationError:
            return True
        except Exception:  # what the client sent was refused further on
            return False
        return False

    assert checks(aws.target_client("dynamodb"))  # the assumed role's
    monkeypatch.delenv("TARGET_ROLE_ARN")
    assert checks(aws.target_client("dynamodb"))  # the function's credentials
    assert not checks(aws.client("dynamodb"))


def test_a_role_that_cannot_be_assumed_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGET_ROLE_ARN", "not-an-arn")
    aws.forget_target_session()
    with pytest.raises(ConfigError, match="cannot assume the target role not-an-arn"):
        aws.target_client("s3")
    aws.forget_target_session()


def test_sigv4_signs_with_the_target_role_like_every_target_call(target_role: str, httpserver):
    httpserver.expect_request("/signed").respond_with_json({})
    assumed = aws.target_session().get_credentials().get_frozen_credentials()
    own = aws.client("sts").get_caller_identity()["UserId"]

    run_action(
        "http",
        {"url": httpserver.url_for("/signed"), "auth": {"sigv4": {"service": "execute-api"}}},
    )

    sent = httpserver.log[0][0].headers["Authorization"]
    assert f"Credential={assumed.access_key}/" in sent
    assert own not in sent
    assert httpserver.log[0][0].headers["X-Amz-Security-Token"] == assumed.token
