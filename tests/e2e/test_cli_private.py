"""Every shipped scenario on a private local AWS, reported as JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from itest.cli.local import background
from itest.cli.scenarios import load

from tests.e2e.conftest import SCENARIOS, itest

pytestmark = pytest.mark.e2e

XSD = Path(__file__).resolve().parents[1] / "schemas" / "junit-10.xsd"


def test_all_scenarios_to_junit_that_validates(tmp_path: Path):
    assert background.read_state() is None  # so --local starts a private one
    report = tmp_path / "reports" / "report.xml"
    result = itest("run", "scenarios/", "--local", "--wait", "--parallel", "4",
                   "--format", "junit", "--output", str(report))
    assert result.returncode == 1, result.stderr  # one example fails on purpose
    assert "Traceback" not in result.stderr
    assert f"junit report written to {report}" in result.stderr
    assert "scenarios:" in result.stdout  # the table for people still goes to stdout

    xmlschema.XMLSchema(str(XSD)).validate(str(report))
    root = ET.parse(report).getroot()
    shipped = load((SCENARIOS,))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {s.label for s in shipped}  # a matrix: one suite per combination
    for item in shipped:
        suite = suites[item.label]
        expected_tests = len(item.scenario.steps) + (1 if item.scenario.assertions else 0)
        expected_failures = 1 if "fails-on-purpose" in item.scenario.tags else 0
        assert int(suite.get("tests")) == expected_tests, item.scenario.name
        assert int(suite.get("failures")) == expected_failures, item.scenario.name
        assert suite.get("errors") == "0"
    assert int(root.get("failures")) == sum("fails-on-purpose" in s.scenario.tags for s in shipped)
