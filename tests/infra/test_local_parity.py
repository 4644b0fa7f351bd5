"""The local AWS runs what AWS runs: only the dependency layer's content differs."""

from __future__ import annotations

import json

from itest.cli.local.orchestrator import LOCAL_CONTEXT
from itest.infra.app import synth as synth_app

from tests.infra.conftest import STACK


def _by_type(template: dict, kind: str) -> dict:
    """Properties by logical id (metadata differs: the session's synth runs cdk-nag)."""
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def test_local_synth_differs_from_aws_only_in_the_layer_content(synth, tmp_path):
    local = json.loads(
        (synth_app(tmp_path, context=LOCAL_CONTEXT) / f"{STACK}.template.json").read_text()
    )
    aws = synth.template_json()
    for kind in ("AWS::StepFunctions::StateMachine", "AWS::Lambda::Function"):
        assert _by_type(local, kind) == _by_type(aws, kind), kind
    (local_layer,) = _by_type(local, "AWS::Lambda::LayerVersion").values()
    (aws_layer,) = _by_type(aws, "AWS::Lambda::LayerVersion").values()
    assert local_layer["Content"] != aws_layer["Content"]
    asset_hash = local_layer["Content"]["S3Key"].removesuffix(".zip")
    staged = tmp_path / f"asset.{asset_hash}"
    assert sorted(p.name for p in staged.iterdir()) == ["requirements.txt"]
