from __future__ import annotations

import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def stack():
    """The orchestrator stack, synthesized once for the whole session."""
    from infra.app import DEFAULT_STACK_NAME, build_app

    app = build_app()
    return app.node.find_child(DEFAULT_STACK_NAME)


@pytest.fixture(scope="session")
def template(stack):
    from aws_cdk.assertions import Template

    return Template.from_stack(stack)
