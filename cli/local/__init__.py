"""The embedded local AWS behind `--local`: moto on loopback, Lambda code as warm processes.

    with started_orchestrator() as local:          # orchestrator.py: start, synth, deploy
        local.aws.client("stepfunctions").start_execution(
            stateMachineArn=local.state_machine_arn, input="{...}")

The parts: server.py (moto's server behind front_door.py, one per process),
lambda_runner.py (moto's Lambda functions as warm Python processes),
deploy.py (a CDK assembly onto it), orchestrator.py (the orchestrator
deployed: where everything is), targets.py (the scenarios' `itest_local.py`),
background.py and daemon.py (`itest local up`), errors.py (one base,
LocalAwsError, which the CLI turns into exit code 3).

Importing this package is cheap: moto and boto3 load when a server starts.
"""
