"""`itest init`: a starter that runs at once, in any folder.

It writes `scenarios/example.yaml` (needs nothing but the local AWS),
`scenarios/itest_local.py` (the local target's template, docs/scenarios.md)
and the scenario format's JSON Schema, which the example's first line points
editors at.
Existing files are kept, except the schema: it follows the installed itest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SCHEMA_FILE = ".itest-schema.json"
"""Beside `scenarios/`, not in it: `itest run scenarios/` reads every *.json there."""
SCENARIOS_DIR = "scenarios"

EXAMPLE = f"# yaml-language-server: $schema=../{SCHEMA_FILE}\n" + """\
name: example
description: >
  A first scenario that needs nothing but the local AWS: it makes a table of
  its own, writes an item, reads it back and deletes the table, pass or fail.
  Run it with `itest run scenarios/ --local`; docs/scenarios.md has every key.
# On AWS the orchestrator must be allowed these calls: in cdk.json's "itest:targets",
# "statements": [{"actions": ["dynamodb:CreateTable", "dynamodb:DescribeTable",
#   "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteTable"],
#   "resources": ["arn:aws:dynamodb:<region>:<account>:table/itest-example-*"]}]
tags: [example]
timeout_seconds: 120
vars:
  table: "itest-example-{{ run_id }}"      # run_id is unique per execution
steps:
  - name: create a table
    action: aws.dynamodb.create_table       # any boto3 call: aws.<service>.<operation>
    with:
      TableName: "{{ vars.table }}"
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      BillingMode: PAY_PER_REQUEST
    cleanup:                                # runs at the end, pass or fail
      action: aws.dynamodb.delete_table
      with: {TableName: "{{ vars.table }}"}

  - name: table is active
    action: aws.dynamodb.describe_table
    with: {TableName: "{{ vars.table }}"}
    expect:
      - {path: Table.TableStatus, equals: ACTIVE}
    retry: {timeout_seconds: 60, interval_seconds: 2}   # poll until expect holds

  - name: write an item
    action: dynamodb.put_item
    with:
      table: "{{ vars.table }}"
      item: {pk: greeting, text: hello, count: 1}

  - name: read it back
    action: dynamodb.get_item
    with: {table: "{{ vars.table }}", key: {pk: greeting}, consistent_read: true}
    expect:
      - {path: item.text, equals: hello}
      - {path: item.count, type: integer, gte: 1}
"""


@dataclass(frozen=True)
class Written:
    path: Path
    kept: bool
    """True when the file was there already and left as it was."""


def init(folder: Path) -> list[Written]:
    """Write the starter into `folder`; files already there are kept (the schema is renewed)."""
    from itest.cli.local.targets import LOCAL_TARGET_FILE, LOCAL_TARGET_TEMPLATE
    from itest.lambdas.scenario.schema import scenario_json_schema

    scenarios = folder / SCENARIOS_DIR
    scenarios.mkdir(parents=True, exist_ok=True)
    written = [
        _write_new(scenarios / "example.yaml", EXAMPLE),
        _write_new(scenarios / LOCAL_TARGET_FILE, LOCAL_TARGET_TEMPLATE),
    ]
    schema = folder / SCHEMA_FILE
    schema.write_text(json.dumps(scenario_json_schema(), indent=2) + "\n")
    return [*written, Written(schema, kept=False)]


def _write_new(path: Path, text: str) -> Written:
    if path.exists():
        return Written(path, kept=True)
    path.write_text(text)
    return Written(path, kept=False)
