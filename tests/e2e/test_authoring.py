"""Authoring at scale through the state machine on the local AWS: matrix
combinations each their own execution and report, fragments expanded into
plain scenarios, from the files as the CLI loads them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from itest.cli import commands, render
from itest.cli.connect import Orchestrator
from itest.cli.scenarios import load

from tests.e2e.conftest import SCENARIOS

pytestmark = pytest.mark.e2e

PRICING = ["pricing-table[qty=1,total_cents=1250]", "pricing-table[qty=4,total_cents=5000]"]
ORDERS = ["orders-by-quantity[qty=1,channel=web]", "orders-by-quantity[qty=3,channel=web]"]


def test_a_matrix_is_one_execution_per_combination_named_in_every_report(local: Any) -> None:
    aws, target, target_vars = local
    loaded = load((SCENARIOS / "pricing-table.yaml", SCENARIOS / "orders-by-quantity.yaml"))
    assert [item.label for item in loaded] == [*PRICING, *ORDERS]

    orchestrator = Orchestrator(aws, target, "private", aws.endpoint_url)
    outcome = commands.run_on(orchestrator, loaded, target_vars, wait=True, parallel=3,
                              timeout=240)  # fmt: skip

    reports = outcome.reports
    assert [r.status for r in reports] == ["passed"] * 4, [r.reason for r in reports]
    assert [r.scenario for r in reports] == [*PRICING, *ORDERS]
    assert reports[0].run_id.startswith("pricing-table-qty-1-total_cents-1250-")
    assert reports[3].run_id.startswith("orders-by-quantity-qty-3-channel-web-")
    assert len({r.run_id for r in reports}) == 4
    # each execution got its own values: the function priced 1 and 4, the API stored 1 and 3
    assert [r.steps[0]["result"]["payload"]["qty"] for r in reports[:2]] == [1, 4]
    assert [r.steps[-1]["result"]["item"]["qty"] for r in reports[2:]] == [1, 3]
    assert reports[2].record["vars"]["qty"] == 1
    # the included steps ran under their prefixed names, their cleanup with them
    assert reports[2].steps[0]["name"] == "create-order/create order"
    cleanup = reports[2].record["cleanup"]
    assert [a["name"] for a in cleanup["actions"]] == ["create-order/create order"]
    assert cleanup["status"] == "passed"

    as_json = json.loads(render.render(outcome, "json"))
    assert [run["scenario"] for run in as_json["runs"]] == [*PRICING, *ORDERS]
    suites = ET.fromstring(render.render(outcome, "junit")).findall("testsuite")
    assert [suite.get("name") for suite in suites] == [*PRICING, *ORDERS]
    table = render.render(outcome, "table")
    assert all(name in table for name in [*PRICING, *ORDERS])


def keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def test_the_uploaded_scenario_is_plain(local: Any) -> None:
    """What reaches the bucket (and so the engine) has no include, params or matrix."""
    aws, target, _ = local
    (first, _) = load((SCENARIOS / "orders-by-quantity.yaml",))
    from itest.cli.scheduler import upload

    ref = upload(aws, target, first.scenario)
    body = aws.client("s3").get_object(Bucket=ref["bucket"], Key=ref["key"])["Body"].read()
    uploaded = json.loads(body)
    assert not {"matrix", "include", "params"} & keys(uploaded)
    assert [s["name"] for s in uploaded["steps"]] == ["create-order/create order", "order stored"]


OUTPUTS_TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"Greeting": {"Value": "hello-from-cfn"}, "Plain": {"Value": "from-cfn"}},
}
ENV_SCENARIO = """\
name: env-vars
steps:
  - {name: pause, action: wait, with: {seconds: 1}}
assertions:
  - {path: vars.greeting, equals: hello-from-cfn}
  - {path: vars.plain, equals: from-cli}
"""


@pytest.fixture
def outputs_stack(local: Any) -> str:
    aws, _, _ = local
    name = "itest-e2e-outputs"
    cloudformation = aws.client("cloudformation")
    try:
        cloudformation.describe_stacks(StackName=name)
    except cloudformation.exceptions.ClientError:
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(OUTPUTS_TEMPLATE))
    return name


def test_an_environment_with_stack_outputs_reaches_the_run(
    local: Any, outputs_stack: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itest.cli import connect
    from itest.cli.environments import load_environment, with_environment

    aws, target, _ = local
    (tmp_path / "itest.yaml").write_text(
        "environments:\n  e2e:\n    vars:\n"
        f"      greeting: cfn:{outputs_stack}/Greeting\n      plain: cfn:{outputs_stack}/Plain\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "env-vars.yaml").write_text(ENV_SCENARIO)
    monkeypatch.chdir(tmp_path / "tests")  # itest.yaml is found in a parent
    orchestrator = Orchestrator(aws, target, "private", aws.endpoint_url)

    environment = load_environment("e2e")
    given = with_environment(environment, {"plain": "from-cli"})  # --var wins
    resolved = commands.stack_outputs(orchestrator, given)
    assert resolved == {"greeting": "hello-from-cfn", "plain": "from-cli"}
    loaded = load((tmp_path / "tests" / "env-vars.yaml",))
    outcome = commands.run_on(orchestrator, loaded, resolved, wait=True, timeout=120)
    (report,) = outcome.reports
    assert report.status == "passed", report.reason
    assert report.record["vars"]["greeting"] == "hello-from-cfn"

    # itest upload prints the resolved values in the execution input
    monkeypatch.setattr(connect, "for_listing", lambda where: orchestrator)
    (line,) = commands.upload(connect.Where(local=True), (tmp_path / "tests",),
                              overrides=with_environment(environment, {}))  # fmt: skip
    assert line["input"]["vars"] == {"greeting": "hello-from-cfn", "plain": "from-cfn"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("cfn:itest-e2e-no-such-stack/Url", "no CloudFormation stack 'itest-e2e-no-such-stack'"),
        ("cfn:itest-e2e-outputs/Nope", "stack 'itest-e2e-outputs' has no output 'Nope' "
         "(its outputs: Greeting, Plain)"),
    ],
)  # fmt: skip
def test_a_missing_stack_or_output_is_bad_input_before_anything_starts(
    local: Any, outputs_stack: str, value: str, message: str
) -> None:
    from itest.cli.errors import BadInput

    aws, target, _ = local
    orchestrator = Orchestrator(aws, target, "private", aws.endpoint_url)
    with pytest.raises(BadInput, match="var url = ") as raised:
        commands.stack_outputs(orchestrator, {"url": value})
    assert message in str(raised.value)
    assert raised.value.exit_code == 2
