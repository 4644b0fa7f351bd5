"""Fixture CDK app for tests/aws/test_local_deploy.py.

`ItestLocalTiny` is the engine's shape in miniature: a Map whose iteration is
Action → Choice → Wait(SecondsPath) → Action, over a Lambda and a DynamoDB
table. `ItestLocalProdLike` carries the resource types a production stack has,
to learn which of them moto's CloudFormation cannot create.
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

HERE = Path(__file__).parent


class TinyStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        table = dynamodb.Table(
            self,
            "Results",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        fn = lambda_.Function(
            self,
            "Action",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(HERE / "lambda")),
            environment={"TABLE_NAME": table.table_name},
            timeout=cdk.Duration.seconds(10),
        )
        table.grant_read_write_data(fn)

        action = tasks.LambdaInvoke(self, "Act", lambda_function=fn, output_path="$.Payload")
        backoff = sfn.Wait(self, "Backoff", time=sfn.WaitTime.seconds_path("$.wait_seconds"))
        check = (
            sfn.Choice(self, "CheckOutcome")
            .when(sfn.Condition.string_equals("$.outcome", "retry"), backoff.next(action))
            .when(
                sfn.Condition.string_equals("$.outcome", "failed"),
                sfn.Fail(self, "StepFailed", error="StepFailed"),
            )
            .otherwise(sfn.Succeed(self, "StepPassed"))
        )
        run_steps = sfn.Map(
            self,
            "RunSteps",
            items_path="$.steps",
            max_concurrency=1,
            item_selector={
                "run_id": sfn.JsonPath.string_at("$$.Execution.Name"),
                "index": sfn.JsonPath.number_at("$$.Map.Item.Index"),
                "name": sfn.JsonPath.string_at("$$.Map.Item.Value.name"),
                "attempt": 0,
            },
        ).item_processor(action.next(check))
        machine = sfn.StateMachine(
            self,
            "Engine",
            definition_body=sfn.DefinitionBody.from_chainable(run_steps),
            timeout=cdk.Duration.minutes(5),
        )
        cdk.CfnOutput(self, "StateMachineArn", value=machine.state_machine_arn)
        cdk.CfnOutput(self, "TableName", value=table.table_name)
        cdk.CfnOutput(self, "FunctionName", value=fn.function_name)


class ProdLikeStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(self, "Key", enable_key_rotation=True)
        bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            versioned=True,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(30))],
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        table = dynamodb.Table(
            self,
            "Results",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expires_at",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
        )
        log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)
        layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(HERE / "layer")),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
        )
        fn = lambda_.Function(
            self,
            "Layered",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline(
                "from fixture_layer import GREETING\n"
                "def handler(event, context):\n"
                "    print(GREETING)\n"
                "    return {'greeting': GREETING}\n"
            ),
            layers=[layer],
            log_group=log_group,
            environment={"BUCKET": bucket.bucket_name, "TABLE": table.table_name},
        )
        bucket.grant_read_write(fn)
        table.grant_read_write_data(fn)
        topic = sns.Topic(self, "Alarms", master_key=key)
        alarm = cloudwatch.Alarm(
            self,
            "Errors",
            metric=fn.metric_errors(),
            threshold=1,
            evaluation_periods=1,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(topic))
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(cloudwatch.GraphWidget(left=[fn.metric_invocations()]))
        machine = sfn.StateMachine(
            self,
            "Machine",
            definition_body=sfn.DefinitionBody.from_chainable(
                tasks.LambdaInvoke(self, "Greet", lambda_function=fn, output_path="$.Payload")
            ),
            timeout=cdk.Duration.minutes(1),
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
            tracing_enabled=True,
        )
        cdk.CfnOutput(self, "StateMachineArn", value=machine.state_machine_arn)
        cdk.CfnOutput(self, "BucketName", value=bucket.bucket_name)


app = cdk.App()
TinyStack(app, "ItestLocalTiny")
ProdLikeStack(app, "ItestLocalProdLike")
app.synth()
