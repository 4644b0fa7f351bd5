"""The local AWS starts on loopback and leaves nothing behind (cli/local/server.py)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from itest.cli.local.server import local_aws


def test_everything_stops_even_after_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core.config import default_user_config

    monkeypatch.setenv("ITEST_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("MOTO_PORT", raising=False)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr(
            "index.py", "import os\ndef handler(event, context):\n    return os.getpid()\n"
        )

    with pytest.raises(RuntimeError, match="scenario blew up"), local_aws() as aws:
        assert aws.endpoint_url.startswith("http://127.0.0.1:")
        port = int(aws.endpoint_url.rsplit(":", 1)[1])
        assert os.environ["MOTO_PORT"] == str(port)
        role = aws.client("iam").create_role(RoleName="any", AssumeRolePolicyDocument="{}")
        lambda_ = aws.client("lambda")
        lambda_.create_function(
            FunctionName="pid",
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="index.handler",
            Code={"ZipFile": aws.register_code(code.getvalue())},
        )
        worker = json.loads(lambda_.invoke(FunctionName="pid")["Payload"].read())
        raise RuntimeError("scenario blew up")

    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert "MOTO_PORT" not in os.environ
    assert default_user_config["stepfunctions"]["execute_state_machine"] is False
    with local_aws() as again:  # and a new one starts empty
        assert again.client("lambda").list_functions()["Functions"] == []


def test_importing_the_package_loads_neither_moto_nor_boto3() -> None:
    code = "import sys, cli.local; print(sorted({'moto', 'boto3'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_the_local_aws_lets_in_only_its_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any other credentials, unsigned calls (moto's own API included) and a forged
    Host are refused before moto sees them; what its STS issued gets in."""
    import http.client
    import urllib.error
    import urllib.request

    import boto3
    from botocore.exceptions import ClientError

    monkeypatch.setenv("ITEST_CACHE_DIR", str(tmp_path))
    with local_aws() as aws:
        owner = aws.client("s3")
        owner.create_bucket(Bucket="mine")
        key_id = aws.credentials["AWS_ACCESS_KEY_ID"]

        def s3(**credentials: str):
            return boto3.client(
                "s3", endpoint_url=aws.endpoint_url, region_name=aws.region, **credentials
            )

        strangers = [
            {
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
                "aws_session_token": "testing",
            },
            {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x"},
            {"aws_access_key_id": key_id, "aws_secret_access_key": "x"},  # no token
            {
                "aws_access_key_id": key_id,
                "aws_secret_access_key": "x",
                "aws_session_token": "guessed",
            },
        ]
        refused = 0
        for credentials in strangers:
            with pytest.raises(ClientError) as caught:
                s3(**credentials).create_bucket(Bucket="theirs")
            assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            refused += 1
        unsigned = [
            urllib.request.Request(f"{aws.endpoint_url}/moto-api/reset", data=b"{}", method="POST"),
            urllib.request.Request(
                f"{aws.endpoint_url}/2015-03-31/functions", data=b"{}", method="POST"
            ),
        ]
        for request in unsigned:
            with pytest.raises(urllib.error.HTTPError) as http_error:
                urllib.request.urlopen(request, timeout=10)
            assert http_error.value.code == 403
            refused += 1
        host, port = aws.endpoint_url.removeprefix("http://").split(":")
        rebinding = http.client.HTTPConnection(host, int(port), timeout=10)
        rebinding.request(  # a web page's request through DNS rebinding names its own host
            "GET",
            "/",
            headers={
                "Host": f"attacker.example:{port}",
                "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/x",
                "X-Amz-Security-Token": aws.credentials["AWS_SESSION_TOKEN"],
            },
        )
        assert rebinding.getresponse().status == 403
        refused += 1

        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        role = aws.client("iam").create_role(RoleName="targets", AssumeRolePolicyDocument=trust)
        issued = aws.client("sts").assume_role(
            RoleArn=role["Role"]["Arn"], RoleSessionName="itest-targets"
        )["Credentials"]
        assumed = {
            "aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
        }
        assert s3(**assumed, aws_session_token=issued["SessionToken"]).list_buckets()
        with pytest.raises(ClientError):
            s3(**assumed, aws_session_token="another").list_buckets()
        refused += 1

        assert {b["Name"] for b in owner.list_buckets()["Buckets"]} == {"mine"}
        print(f"requests from other credentials refused: {refused} of {refused}")
