"""The embedded local AWS behind `--local`: moto on loopback, Lambda code as warm processes.

    with started_orchestrator() as local:          # orchestrator.py: start, synth, deploy
        local.aws.client("stepfunctions").start_execution(
            stateMachineArn=local.state_machine_arn, input="{...}")

The parts (docs/engine.md, "The local AWS"): orchestrator.py (the orchestrator
deployed: where everything is), server.py (moto's server behind front_door.py,
one per process), moto_patches.py (every change to moto, installed and undone
together, for the tested moto), worker_pool.py (warm Python processes, no
moto), lambda_runner.py (moto's functions on that pool, only with code
registered in code_registry.py), deploy.py (a CDK assembly onto moto),
targets.py (the scenarios' `itest_local.py`), background.py and daemon.py
(`itest local up`), errors.py (one base, LocalAwsError, which the CLI turns
into exit code 3).

Importing this package is cheap: moto and boto3 load when a server starts.
"""
