"""docs/pipeline.md's CDK Pipelines example is a whole app: it synthesizes as written,
deploys the orchestrator beside the service and runs the scenarios after the deploy."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _app_block() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "pipeline.md").read_text(), re.S)
    [app] = [b for b in blocks if "app.synth()" in b]
    return app


def _templates(outdir: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in outdir.rglob("*.template.json")}


def test_the_documented_pipeline_app_synthesizes_with_the_post_deploy_tests():
    namespace: dict = {"__name__": "docs_pipeline_app"}
    exec(compile(_app_block(), "docs/pipeline.md", "exec"), namespace)
    templates = _templates(Path(namespace["app"].outdir))

    pipeline = templates["OrdersPipeline.template.json"]
    specs = [
        r["Properties"]["Source"]["BuildSpec"] for r in pipeline["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
    ]
    [tests] = [json.dumps(s) for s in specs if "itest run" in json.dumps(s)]
    assert "itest run scenarios/ --wait --format junit --output report.xml" in tests
    assert "--var orders_table=orders" in tests
    assert "pip install -r requirements.txt" in tests

    [orchestrator] = [t for name, t in templates.items() if "Itest" in name
                      and name != "OrdersPipeline.template.json"]
    types = {r["Type"] for r in orchestrator["Resources"].values()}
    assert "AWS::StepFunctions::StateMachine" in types
    roles = [r["Properties"] for r in orchestrator["Resources"].values()
             if r["Type"] == "AWS::IAM::Role" and "RoleName" in r["Properties"]]
    assert any("Itest-runner-" in json.dumps(r["RoleName"]) for r in roles)
    policies = json.dumps([r for r in orchestrator["Resources"].values()
                           if r["Type"] == "AWS::IAM::Policy"])
    assert "table/orders" in policies  # the targets: the service's table, nothing wider
