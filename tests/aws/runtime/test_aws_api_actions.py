"""aws.<service>.<operation>: any boto3 call, checked against botocore's models."""

from __future__ import annotations

import json

import pytest
from itest.lambdas.actions.registry import get_action, run_action
from itest.lambdas.aws import client
from itest.lambdas.errors import ActionError, UnknownActionError


def test_sqs_send_and_receive_with_raw_parameters() -> None:
    url = run_action("aws.sqs.create_queue", {"QueueName": "orders"})["QueueUrl"]

    sent = run_action("aws.sqs.send_message", {"QueueUrl": url, "MessageBody": '{"id": "o-1"}'})
    got = run_action(
        "aws.sqs.receive_message",
        {"QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 0},
    )

    assert "ResponseMetadata" not in sent and sent["MessageId"]
    assert json.loads(got["Messages"][0]["Body"]) == {"id": "o-1"}


def test_responses_are_plain_json() -> None:
    client("s3").create_bucket(Bucket="raw-bucket")
    client("s3").put_object(Bucket="raw-bucket", Key="k", Body=b"\xff\xfe binary")

    listed = run_action("aws.s3.list_objects_v2", {"Bucket": "raw-bucket"})
    body = run_action("aws.s3.get_object", {"Bucket": "raw-bucket", "Key": "k"})

    assert isinstance(listed["Contents"][0]["LastModified"], str)  # datetime → ISO 8601
    assert body["Body"] == "//4gYmluYXJ5"  # bytes that are not UTF-8 → base64
    json.dumps(listed), json.dumps(body)


def test_secrets_manager_and_sns_through_the_generic_action() -> None:
    run_action("aws.secretsmanager.create_secret", {"Name": "s", "SecretString": "v"})
    arn = run_action("aws.sns.create_topic", {"Name": "t"})["TopicArn"]

    assert (
        run_action("aws.secretsmanager.get_secret_value", {"SecretId": "s"})["SecretString"] == "v"
    )
    assert run_action("aws.sns.publish", {"TopicArn": arn, "Message": "m"})["MessageId"]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("aws.nosuch.call", "botocore has no service 'nosuch'"),
        (
            "aws.sqs.send_mesage",
            "service 'sqs' has no operation 'send_mesage' (did you mean 'send_message'?)",
        ),
        ("aws.sqs", "expected aws.<service>.<operation>"),
        ("aws.SQS.SendMessage", "expected aws.<service>.<operation>"),
    ],
)
def test_unknown_services_and_operations_are_named(name: str, fragment: str) -> None:
    with pytest.raises(UnknownActionError, match="unknown action") as caught:
        get_action(name)
    assert fragment in str(caught.value)


def test_parameters_are_checked_offline_against_the_operation() -> None:
    check = get_action("aws.sqs.send_message").check
    assert check is not None

    problems = check(
        {
            "QueueUrl": "u",
            "MesageBody": "b",
            "DelaySeconds": "10",
            "MessageAttributes": {"a": {"DataType": "String", "StringValu": "x"}},
        }
    )

    found = {(".".join(map(str, loc)), message) for loc, message in problems}
    assert any(
        loc == "" and "unknown parameter 'MesageBody'; did you mean 'MessageBody'?" in m
        for loc, m in found
    )
    assert ("", "'MessageBody' is required") in found
    assert ("DelaySeconds", "expected integer, got string '10'") in found
    assert any(loc == "MessageAttributes.a" and "'StringValu'" in m for loc, m in found)
    assert (
        check({"QueueUrl": "{{ vars.q }}", "MessageBody": "x", "DelaySeconds": "{{ vars.delay }}"})
        == []
    )


def test_invalid_parameters_after_rendering_are_not_retried() -> None:
    with pytest.raises(ActionError, match="Invalid type for parameter DelaySeconds") as caught:
        run_action(
            "aws.sqs.send_message", {"QueueUrl": "u", "MessageBody": "b", "DelaySeconds": "x"}
        )
    assert caught.value.retryable is False


def test_a_service_error_is_a_retryable_action_error() -> None:
    with pytest.raises(ActionError, match=r"aws.sqs.get_queue_url: .*NonExistentQueue") as caught:
        run_action("aws.sqs.get_queue_url", {"QueueName": "nope"})
    assert caught.value.retryable is True


def test_secrets_read_through_aws_calls_are_masked_like_declared_ones() -> None:
    from itest.lambdas import masking
    from itest.lambdas.actions.aws_api import secret_values

    masking.forget()
    client("ssm").put_parameter(Name="/p/token", Value="ssm-tok-9x8y7z", Type="SecureString")
    client("ssm").put_parameter(Name="/p/plain", Value="not-secret-1", Type="String")
    client("secretsmanager").create_secret(Name="sm", SecretString='{"password": "sm-pw-4q5w"}')
    key = client("kms").create_key()["KeyMetadata"]["KeyId"]
    blob = client("kms").encrypt(KeyId=key, Plaintext=b"kms-plain-3Zr8")["CiphertextBlob"]

    reads = {
        "aws.ssm.get_parameter": {"Name": "/p/token", "WithDecryption": True},
        "aws.ssm.get_parameters": {"Names": ["/p/token", "/p/plain"], "WithDecryption": False},
        "aws.secretsmanager.get_secret_value": {"SecretId": "sm"},
        "aws.secretsmanager.batch_get_secret_value": {"SecretIdList": ["sm"]},
    }
    try:
        results = {name: run_action(name, params) for name, params in reads.items()}
        decrypted = get_action("aws.kms.decrypt").run(
            get_action("aws.kms.decrypt").params.model_validate({"CiphertextBlob": blob})
        )
        masked = masking.mask([results, decrypted])
        assert masking.active() >= {"ssm-tok-9x8y7z", "sm-pw-4q5w", "kms-plain-3Zr8"}
        assert "not-secret-1" not in masking.active()  # a String parameter is not a secret
        text = json.dumps(masked)
        for value in ("ssm-tok-9x8y7z", "sm-pw-4q5w", "kms-plain-3Zr8"):
            assert value not in text
        assert "not-secret-1" in text
        assert secret_values("sqs", {}, {"SecretString": "x"}) == []  # only the named services
    finally:
        masking.forget()
