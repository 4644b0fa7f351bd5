"""Where scenarios and run results live."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct
from itest.lambdas.bucket_layout import RESULTS_PREFIX, SCENARIOS_PREFIX, SUITES_PREFIX
from itest.lambdas.results.store import EXPIRES_AT, PARTITION_KEY, SORT_KEY


@dataclass(frozen=True, kw_only=True)
class StorageSettings:
    """How long what a run leaves behind is kept."""

    results_ttl_days: int = 30
    """Run records expire (DynamoDB TTL) this long after they are written."""
    scenario_versions_days: int = 30
    """Overwritten or deleted scenario objects are kept this long."""


class RunStorage(Construct):
    """The scenario bucket and the results table.

    Scenarios are uploaded as normalized JSON (content addressed), results are
    written per step so that step N reads the captures of the steps before it.
    Both are retained when the stack is deleted: they are a release's evidence.

    Attributes:
        bucket: scenarios (under `scenarios_prefix`) and big step results (under
            `results_prefix`).
        table: run records, keyed as lambdas/results/store.py (their one owner) says.
        scenarios_prefix: where the CLI uploads scenarios; the handlers read nothing else.
        results_prefix: where Action keeps a step's whole result when its record holds
            only a summary (they expire with the records).
        suites_prefix: where suite lists are uploaded (the suite reads nothing else).
    """

    scenarios_prefix = SCENARIOS_PREFIX
    results_prefix = RESULTS_PREFIX
    suites_prefix = SUITES_PREFIX

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: StorageSettings | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or StorageSettings()
        self.settings = settings
        self.bucket = s3.Bucket(
            self,
            "Scenarios",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="old-scenario-versions",
                    noncurrent_version_expiration=Duration.days(settings.scenario_versions_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="results",
                    prefix=self.results_prefix,
                    expiration=Duration.days(settings.results_ttl_days),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table = dynamodb.Table(
            self,
            "Results",
            partition_key=dynamodb.Attribute(
                name=PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=EXPIRES_AT,
            removal_policy=RemovalPolicy.RETAIN,
        )
