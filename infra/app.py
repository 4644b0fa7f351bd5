"""Builds the CDK app; `app.py` and the local runtime both synthesize through here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_STACK_NAME = "Itest"


def build_app(outdir: Path | None = None, context: dict[str, Any] | None = None):  # -> cdk.App
    """Return the app with the orchestrator stack, configured from context."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import aws_cdk as cdk

    from infra.stack import OrchestratorProps, OrchestratorStack

    app = cdk.App(
        outdir=str(outdir) if outdir else None,
        context=context,
        analytics_reporting=False,
    )
    stack_name = app.node.try_get_context("itest:stackName") or DEFAULT_STACK_NAME
    max_seconds = app.node.try_get_context("itest:maxExecutionSeconds")
    props = OrchestratorProps(**({"max_execution_seconds": int(max_seconds)} if max_seconds else {}))
    OrchestratorStack(app, stack_name, props=props)
    return app


def synth(outdir: Path, context: dict[str, Any] | None = None) -> Path:
    """Synthesize the cloud assembly into `outdir` and return it."""
    build_app(outdir, context).synth()
    return outdir
