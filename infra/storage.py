"""Where scenarios and run results live."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct


class RunStorage(Construct):
    """The scenario bucket and the results table.

    Scenarios are uploaded as normalized JSON (content addressed), results are
    written per step so that step N reads the captures of the steps before it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, results_ttl_days: int = 30) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Scenarios",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(results_ttl_days)),
                s3.LifecycleRule(prefix="results/", expiration=Duration.days(results_ttl_days)),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table = dynamodb.Table(
            self,
            "Results",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expires_at",
            removal_policy=RemovalPolicy.RETAIN,
        )
