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
            Code={"ZipFile": code.getvalue()},
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
