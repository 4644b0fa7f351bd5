"""An alarm when scenarios fail and a small dashboard of what the orchestrator does."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from itest.lambdas.log import SCENARIO_DIMENSION, SCENARIO_DURATION, SCENARIO_FAILED


class Monitoring(Construct):
    """Failed executions raise an alarm; a dashboard shows runs, suites, failures and
    durations.

    Attributes:
        failures_alarm: scenario or suite executions failed or timed out in the last
            5 minutes (a suite's scenario that fails counts twice: as itself and in its
            suite; the alarm only asks for one).
        dashboard: executions, suites, failures, duration overall and by scenario,
            handler errors.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        suite_machine: sfn.StateMachine,
        functions: Sequence[lambda_.IFunction],
        metrics_namespace: str,
        alarm_topic_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(5)
        failed = cw.MathExpression(
            expression="failed + timedOut + suitesFailed + suitesTimedOut",
            using_metrics={
                "failed": state_machine.metric_failed(period=period),
                "timedOut": state_machine.metric_timed_out(period=period),
                "suitesFailed": suite_machine.metric_failed(period=period),
                "suitesTimedOut": suite_machine.metric_timed_out(period=period),
            },
            label="Failed or timed out (scenarios and suites)",
            period=period,
        )
        self.failures_alarm = cw.Alarm(
            self,
            "Failures",
            alarm_description=(
                "An itest execution (a scenario or a suite) failed or timed out: a scenario "
                "found a regression, or the orchestrator could not run it. The execution's "
                "Failed cause says which."
            ),
            metric=failed,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        if alarm_topic_arn:
            topic = sns.Topic.from_topic_arn(self, "AlarmTopic", alarm_topic_arn)
            self.failures_alarm.add_alarm_action(cw_actions.SnsAction(topic))

        def by_scenario(metric: str, statistic: str, label: str) -> cw.MathExpression:
            search = (
                f"SEARCH('{{{metrics_namespace},{SCENARIO_DIMENSION}}} MetricName=\"{metric}\"', "
                f"'{statistic}', {int(period.to_seconds())})"
            )
            return cw.MathExpression(
                expression=search, using_metrics={}, label=label, period=period
            )

        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        self.dashboard.add_widgets(
            _ends("Executions", state_machine, period),
            # the alarm's metric and threshold (an AlarmWidget would tie the dashboard
            # to the alarm resource, which the local stack leaves out)
            cw.GraphWidget(
                title="Failures (alarm at 1)",
                left=[failed],
                left_annotations=[cw.HorizontalAnnotation(value=1, label="alarm")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            _ends("Suites", suite_machine, period),
            _durations("Suite duration", suite_machine, period),
        )
        self.dashboard.add_widgets(
            _durations("Execution duration", state_machine, period),
            cw.GraphWidget(
                title="Duration by scenario (ms)",
                left=[by_scenario(SCENARIO_DURATION, "Average", "")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Failures by scenario",
                left=[by_scenario(SCENARIO_FAILED, "Sum", "")],
                width=12,
            ),
            cw.GraphWidget(
                title="Handler errors and throttles",
                left=[fn.metric_errors(period=period) for fn in functions]
                + [fn.metric_throttles(period=period) for fn in functions],
                width=12,
            ),
        )


def _ends(title: str, machine: sfn.StateMachine, period: Duration) -> cw.GraphWidget:
    """How `machine`'s executions started and ended."""
    return cw.GraphWidget(
        title=title,
        left=[
            machine.metric_started(period=period, label="Started"),
            machine.metric_succeeded(period=period, label="Passed"),
            machine.metric_failed(period=period, label="Failed"),
            machine.metric_timed_out(period=period, label="Timed out"),
        ],
        width=12,
    )


def _durations(title: str, machine: sfn.StateMachine, period: Duration) -> cw.GraphWidget:
    """How long `machine`'s executions took: average and p90."""
    return cw.GraphWidget(
        title=title,
        left=[
            machine.metric_time(period=period, statistic="Average", label="Average"),
            machine.metric_time(period=period, statistic="p90", label="p90"),
        ],
        width=12,
    )
