"""The post-deploy stage, both ways: a CDK Pipelines step and a classic invoke stage."""

from __future__ import annotations

import json


def _text(value) -> str:
    """A template string, with CloudFormation functions in it replaced by TOKEN."""
    if isinstance(value, str):
        return value
    return "".join(p if isinstance(p, str) else "TOKEN" for p in value["Fn::Join"][1])


def test_cdk_pipelines_step_runs_itest_with_a_junit_report(pipelines):
    sample = pipelines["sample"]
    projects = sample.find_resources("AWS::CodeBuild::Project")
    (project,) = [
        p["Properties"] for p in projects.values() if "itest run" in json.dumps(p["Properties"])
    ]
    spec = json.loads(_text(project["Source"]["BuildSpec"]))
    commands = spec["phases"]["build"]["commands"]
    assert any(
        c.startswith("itest run ") and "--wait --format junit --output report.xml" in c
        for c in commands
    ), commands
    (report,) = spec["reports"].values()
    assert report == {"files": ["report.xml"], "file-format": "JUNITXML"}
    sample.has_resource_properties("AWS::CodeBuild::ReportGroup", {"Type": "TEST"})
    env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert env["AWS_PROFILE"] == "itest" and env["ITEST_STACK"] == "Itest"


def test_cdk_pipelines_step_assumes_the_runner_role_and_writes_reports(pipelines):
    text = json.dumps(pipelines["sample"].find_resources("AWS::IAM::Policy"))
    assert "sts:AssumeRole" in text and "Itest-runner-" in text
    assert "codebuild:BatchPutTestCases" in text


def test_sample_pipeline_deploys_the_orchestrator_before_the_tests(pipelines):
    (pipeline,) = pipelines["sample"].find_resources("AWS::CodePipeline::Pipeline").values()
    stages = [s["Name"] for s in pipeline["Properties"]["Stages"]]
    assert stages[:2] == ["Source", "Build"] and "Deploy" in stages
    (deploy,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Deploy"]
    names = [a["Name"] for a in deploy["Actions"]]
    assert names[-1] == "PostDeployTests"  # after the stack's prepare/deploy actions


def test_classic_stage_starts_one_suite_for_every_scenario(pipelines):
    classic = pipelines["classic"]
    (pipeline,) = classic.find_resources("AWS::CodePipeline::Pipeline").values()
    (stage,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Itest"]
    (action,) = stage["Actions"]  # one action, whatever the number of scenarios
    assert action["ActionTypeId"] == {
        "Category": "Invoke", "Owner": "AWS", "Provider": "StepFunctions", "Version": "1"
    }
    assert action["Configuration"]["InputType"] == "Literal"
    assert "ItestSuite" in json.dumps(action["Configuration"]["StateMachineArn"])
    assert json.loads(action["Configuration"]["Input"]) == {
        "scenarios_key": "suites/ci.json", "max_concurrency": 20
    }


def test_sample_buildspec_runs_itest_and_reports_junit():
    from pathlib import Path

    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "buildspec.yml").read_text())
    (command,) = spec["phases"]["build"]["commands"]
    assert command.startswith("itest run ")
    assert "--wait --format junit --output report.xml" in command
    (report,) = spec["reports"].values()
    assert report == {"files": ["report.xml"], "file-format": "JUNITXML"}
