"""The embedded local AWS behind `--local`: moto on loopback, Lambda code as warm processes.

    with local_aws() as aws:                       # server.py
        assembly = cached_assembly(synth, sources)  # cache.py
        outputs = deploy(aws, assembly, "Itest")    # deploy.py
        aws.client("stepfunctions").start_execution(...)

Importing this package is cheap: moto and boto3 load when a server starts.
"""

from __future__ import annotations

from itest.cli.local.cache import cache_root, cached_assembly
from itest.cli.local.deploy import DeployError, deploy
from itest.cli.local.server import LocalAws, LocalAwsError, local_aws

__all__ = [
    "DeployError",
    "LocalAws",
    "LocalAwsError",
    "cache_root",
    "cached_assembly",
    "deploy",
    "local_aws",
]
