"""A worker pool's function spec for a handler written to a folder (index.handler)."""

from __future__ import annotations

from pathlib import Path

from itest.cli.local.worker_pool import FunctionSpec


def handler_spec(folder: Path, name: str, source: str) -> FunctionSpec:
    """`source` as `folder`/index.py, run as the function `name` (30 s, 128 MB)."""
    (folder / "index.py").write_text(source)
    return FunctionSpec(
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        name=name,
        version="$LATEST",
        handler="index.handler",
        code_dir=folder,
        layer_dirs=(),
        environment=(),
        timeout=30.0,
        memory=128,
        log_group=f"/aws/lambda/{name}",
    )
