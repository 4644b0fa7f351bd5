"""One of moto's modules without its package's __init__, and the package whole later."""

from __future__ import annotations

import subprocess
import sys

import pytest
from itest.cli.local import direct_stack

FRESH = """
import sys
from itest.cli.local.moto_imports import import_without_package

utils = import_without_package("moto.batch.utils")
assert "moto.batch" not in sys.modules and "moto.ec2" not in sys.modules
import moto.batch  # what uses the package gets all of it, and the same module
from moto.batch import utils as again
from moto.batch.models import batch_backends
assert again is utils and "moto.ec2" in sys.modules
assert batch_backends["123456789012"]["us-east-1"].describe_compute_environments(None) == []
print("ok")
"""


def test_the_package_is_whole_when_something_imports_it():
    done = subprocess.run(
        [sys.executable, "-c", FRESH], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize(
    "template",
    [
        {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}},
        {"Resources": {"R": {"Type": "AWS::IAM::Role", "Condition": "Prod"}},
         "Conditions": {"Prod": {"Fn::Equals": ["a", "b"]}}},
        {"Resources": {"R": {"Type": "AWS::IAM::Role",
                             "Properties": {"RoleName": {"Fn::ImportValue": "x"}}}}},
    ],
)  # fmt: skip
def test_a_template_it_does_not_know_goes_through_cloudformation(template):
    assert direct_stack.create(None, "S", "arn:stack", template) is None  # type: ignore[arg-type]
