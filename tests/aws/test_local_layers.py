"""Locally, layers come after this interpreter's site-packages (cli/local/lambda_bootstrap.py).

The orchestrator's dependency layer holds wheels built for Lambda's Python and
architecture; ahead of site-packages they would shadow the host's own builds
(a cp312 pydantic_core does not load in another Python). What only a layer has
is still importable.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.aws.lambda_zip import zip_files

if TYPE_CHECKING:

    from itest.cli.local.server import LocalAws

HANDLER = """
import sys

import only_in_the_layer
import yaml


def handler(event, context):
    return {
        "yaml": yaml.__file__,
        "layer_module": only_in_the_layer.WHERE,
        "layer_last": all(p.startswith("/opt") or "lambda-code" in p for p in sys.path[-2:]),
    }
"""


def test_site_packages_win_over_a_layer_and_layer_only_modules_import(aws: LocalAws) -> None:
    lam = aws.client("lambda")
    role = aws.client("iam").create_role(RoleName="layers", AssumeRolePolicyDocument="{}")
    layer = lam.publish_layer_version(
        LayerName="deps",
        Content={
            "ZipFile": aws.register_code(zip_files(
                {
                    # a package the host has too, built for "another platform"
                    "python/yaml/__init__.py": "raise ImportError('the layer shadowed yaml')\n",
                    "python/only_in_the_layer.py": "WHERE = 'layer'\n",
                }
            ))
        },
    )["LayerVersionArn"]
    lam.create_function(
        FunctionName="with-layer",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": aws.register_code(zip_files({"index.py": HANDLER}))},
        Layers=[layer],
    )

    response = lam.invoke(FunctionName="with-layer", Payload=b"{}")
    payload = json.loads(response["Payload"].read())

    assert response.get("FunctionError") is None, payload
    assert "site-packages" in payload["yaml"]
    assert payload["layer_module"] == "layer"
    assert payload["layer_last"]
