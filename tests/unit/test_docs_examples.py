"""The scenarios shown in README.md and docs/scenarios.md are valid scenarios."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from itest.lambdas.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def examples() -> list[tuple[str, str]]:
    found = []
    for doc in ("README.md", "docs/scenarios.md"):
        for i, block in enumerate(BLOCK.findall((ROOT / doc).read_text())):
            if re.search(r"^name: ", block, re.MULTILINE) and re.search(r"^steps:", block, re.M):
                found.append((f"{doc}#{i}", block))
    return found


def test_the_docs_show_whole_scenarios() -> None:
    assert {name.split("#")[0] for name, _ in examples()} == {"README.md", "docs/scenarios.md"}


@pytest.mark.parametrize(("name", "text"), examples(), ids=[n for n, _ in examples()])
def test_each_documented_scenario_is_valid(name: str, text: str) -> None:
    load_scenario(text, source=name)
