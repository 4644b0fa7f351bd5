"""The orchestrator app without a CDK project: `itest synth` from any folder, and
`python -m itest.infra.app` as the CDK CLI runs it for `itest deploy`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from itest.cli.main import cli


def _functions(template: dict) -> dict[str, dict]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def test_synth_writes_the_template_with_cdk_json_context_and_c_on_top(tmp_path, monkeypatch):
    import aws_cdk

    aws_cdk.App()  # the jsii kernel starts here, in another folder: `-o out` is still ours
    monkeypatch.chdir(tmp_path)
    Path("cdk.json").write_text(json.dumps({
        "app": "python my_own_app.py",  # a project's own CDK app: not what itest synthesizes
        "context": {"itest:stackName": "ItestQa", "itest:maxExecutionSeconds": 900},
    }))
    result = CliRunner().invoke(cli, [
        "synth", "-o", "out", "-c", "itest:stackName=ItestCi", "-c", "itest:hostDependencies=1",
    ])
    assert result.exit_code == 0, result.output
    template_path = tmp_path / "out" / "ItestCi.template.json"
    assert str(template_path.relative_to(tmp_path)) in result.output
    functions = _functions(json.loads(template_path.read_text()))
    assert {f["Handler"] for f in functions.values()} == {
        f"itest.lambdas.handlers.{name}" for name in ("prepare", "action", "assert_", "cleanup")
    }
    prepare = next(f for f in functions.values() if f["Handler"].endswith("prepare"))
    assert prepare["Environment"]["Variables"]["MAX_TIMEOUT_SECONDS"] == "900"
    code_assets = [p for p in (tmp_path / "out").glob("asset.*") if (p / "itest").is_dir()]
    assert [sorted(p.name for p in (a / "itest" / "lambdas").glob("*.py")) for a in code_assets]
    assert all((a / "itest" / "lambdas" / "handlers.py").is_file() for a in code_assets)


def test_a_bad_context_value_is_exit_2_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["synth", "-c", "itest:maxExecutionSeconds=soon"])
    assert result.exit_code == 2
    assert "itest:maxExecutionSeconds must be a whole number, got 'soon'" in result.output
    assert not (tmp_path / "cdk.out" / "Itest.template.json").exists()


def test_the_module_is_the_app_the_cdk_cli_runs(tmp_path):
    """What `cdk deploy --app "python -m itest.infra.app"` does: CDK_OUTDIR and
    CDK_CONTEXT_JSON in the environment, any current folder."""
    outdir = tmp_path / "assembly"
    context = {"itest:stackName": "ItestMod", "itest:hostDependencies": "true"}
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    done = subprocess.run(
        [sys.executable, "-m", "itest.infra.app"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert "ItestMod" in manifest["artifacts"]
    assert (outdir / "ItestMod.template.json").is_file()


def test_the_constructs_import_from_the_namespace():
    import itest.infra as constructs
    from itest.infra.pipeline import ItestInvokeStage, ItestPipelineStep
    from itest.infra.stack import OrchestratorStack

    assert constructs.ItestPipelineStep is ItestPipelineStep
    assert constructs.ItestInvokeStage is ItestInvokeStage
    assert constructs.OrchestratorStack is OrchestratorStack
    assert set(constructs.__all__) >= {"ItestStepProps", "ItestStageProps", "OrchestratorProps"}
