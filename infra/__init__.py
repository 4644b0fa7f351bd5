"""itest's CDK constructs, for a project's own CDK app.

    from itest.infra import OrchestratorStack, ItestPipelineStep, ItestStepProps

Names load lazily (PEP 562): the CLI imports `itest.infra.build_cache` without
paying for aws_cdk.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itest.infra.pipeline import (
        ItestInvokeStage,
        ItestPipelineStep,
        ItestStageProps,
        ItestStepProps,
    )
    from itest.infra.stack import OrchestratorProps, OrchestratorStack
    from itest.infra.targets import TargetPermissions

_PUBLIC = {
    "OrchestratorStack": "itest.infra.stack",
    "OrchestratorProps": "itest.infra.stack",
    "TargetPermissions": "itest.infra.targets",
    "ItestPipelineStep": "itest.infra.pipeline",
    "ItestStepProps": "itest.infra.pipeline",
    "ItestInvokeStage": "itest.infra.pipeline",
    "ItestStageProps": "itest.infra.pipeline",
}

__all__ = [
    "ItestInvokeStage", "ItestPipelineStep", "ItestStageProps", "ItestStepProps",
    "OrchestratorProps", "OrchestratorStack", "TargetPermissions",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
