"""Alarms that reach someone, a dead-letter queue for runs that could not start, audit queries, a dashboard."""

from __future__ import annotations

from aws_cdk import Acknowledgment, ArnFormat, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ecr_sweeper.core.constants import DEFAULT_METRICS_NAMESPACE, DEFAULT_SERVICE_NAME
from ecr_sweeper.core.metrics import METRICS
from ecr_sweeper.core.model import Action, Protection

# The nightly run, plus two hours of slack for a slow run or a late schedule.
HEARTBEAT = Duration.hours(26)
HEARTBEAT_PERIOD = Duration.hours(2)
# EventBridge retries a target it could not invoke for up to this long, then dead-letters the event.
TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = Duration.hours(2)

# CloudWatch Logs Insights saved queries, on the function's log group (docs, "Audit in one query").
QUERIES: dict[str, dict[str, object]] = {
    "deleted-in-the-last-run": {
        "fields": ["@timestamp", "function_request_id", "repository", "digest", "reason", "size_bytes", "dry_run"],
        "filter_statements": [
            'record_type = "verdict"',
            f'action in ["{Action.DELETED.value}", "{Action.WOULD_DELETE.value}"]',
        ],
        "sort": "@timestamp desc",
        "limit": 10000,
    },
    "why-was-this-digest-kept-or-deleted": {
        "fields": ["@timestamp", "repository", "action", "reason", "protection", "failure_code", "dry_run"],
        "filter_statements": ['record_type = "verdict"', 'digest = "sha256:REPLACE-ME"'],
        "sort": "@timestamp desc",
    },
    "invalid-retention-tags": {
        "fields": ["@timestamp", "repository", "tag_key", "tag_value", "reason"],
        "filter_statements": ['record_type = "invalid_retention_tag"'],
        "sort": "@timestamp desc",
    },
}


def emitted(name: str) -> cloudwatch.Metric:
    """One of the function's own metrics, hourly sums. The names are the function's (core/metrics.py):
    a typo would draw an empty line, or an alarm that never fires, so it stops synth instead."""
    if name not in METRICS:
        raise KeyError(f"the function emits no metric {name!r}")
    return cloudwatch.Metric(
        namespace=DEFAULT_METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": DEFAULT_SERVICE_NAME},
        statistic="Sum",
        period=Duration.hours(1),
    )


class Observability(Construct):
    """Everything that tells a person what the sweeper did, or that it did not run."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        log_group: logs.ILogGroup,
        alarm_email: str | None,
        runs_started: cloudwatch.Metric,
        state_machine: sfn.StateMachine | None = None,
        removal: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """`runs_started` counts scheduled runs: the function's invocations, or the state machine's
        executions with the Step Functions engine (`state_machine`)."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        # Only this account's alarms may use the key and publish to the topic ("confused deputy"
        # prevention: SNS developer guide, "Amazon SNS access policy", aws:SourceAccount/aws:SourceArn).
        from_our_alarms = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
                )
            },
        }
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        # CloudWatch can publish to an encrypted topic only with a customer managed key whose
        # policy lets cloudwatch.amazonaws.com use it (the AWS managed aws/sns key does not):
        # SNS developer guide, "Encryption at rest", compatibility with CloudWatch alarms.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            enable_key_rotation=True,
            description="ecr-sweeper alarm topic",
            # A deleted key waits out its pending window (7 to 30 days) before it is gone.
            removal_policy=removal,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[cloudwatch_principal],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=from_our_alarms,
            )
        )
        self.topic = sns.Topic(self, "AlarmTopic", display_name="ecr-sweeper alarms", master_key=key, enforce_ssl=True)
        # enforce_ssl creates an AWS::SNS::TopicPolicy, and a topic policy replaces the default one:
        # without this statement nothing may publish, and every alarm action fails.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[cloudwatch_principal],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_our_alarms,
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        # A run that EventBridge could not deliver, and (lambda engine) a run the function's async
        # queue dropped or that failed, lands here.
        self.dead_letters = sqs.Queue(
            self,
            "ScheduleDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        Validations.of(self.dead_letters).acknowledge(
            Acknowledgment(id="AwsSolutions-SQS3", reason="This queue is itself the dead-letter queue of the schedule.")
        )

        self.alarms = {
            "DeleteFailures": self._alarm(
                "DeleteFailuresAlarm",
                emitted("DeleteFailures"),
                "ecr-sweeper: ECR refused to delete some digests. Query delete_failed records for failure_code.",
            ),
            "RepositoryErrors": self._alarm(
                "RepositoryErrorsAlarm",
                emitted("RepositoryErrors"),
                "ecr-sweeper: some repositories could not be swept. Query repository_error records.",
            ),
            # A run leaves a data point; no run in the whole window leaves none. With missing data
            # treated as missing, "if all data points in the evaluation range are missing, the alarm
            # transitions to INSUFFICIENT_DATA" (CloudWatch user guide, "Configuring how CloudWatch
            # alarms treat missing data"), and a new alarm starts in INSUFFICIENT_DATA. So the
            # transition OK -> INSUFFICIENT_DATA is a missed night, within the window, while a fresh
            # deploy stays where it started, and pages no one, until its first run turns it OK.
            "NoRun": self._alarm(
                "NoRunAlarm",
                runs_started.with_(period=HEARTBEAT_PERIOD, statistic="Sum"),
                f"ecr-sweeper did not run in the last {HEARTBEAT.to_hours():.0f} hours (this alarm's "
                "INSUFFICIENT_DATA after OK): check the schedule, the schedule's dead-letter queue, and the "
                "function's throttles.",
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                threshold=1,
                periods=int(HEARTBEAT.to_hours() / HEARTBEAT_PERIOD.to_hours()),
                missing=cloudwatch.TreatMissingData.MISSING,
                on_insufficient_data=True,
            ),
            # Repositories that two runs in a row never started (the deadline came first): the
            # registry needs more time than one run has.
            "RepositoriesStarved": self._alarm(
                "RepositoriesStarvedAlarm",
                emitted("RepositoriesStarved"),
                "ecr-sweeper: some repositories were not swept two runs in a row. Query the starved records; "
                "with engine=lambda switch to engine=stepfunctions, with engine=stepfunctions lower "
                "repositoriesPerInvocation.",
            ),
            # A run that failed: a repository could not be swept, or the run itself failed.
            "Errors": self._failed_alarm(
                "ErrorsAlarm",
                function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                "ecr-sweeper failed: a repository could not be swept, or the run itself failed. Read the "
                "function's repository_error and config_error log records.",
            ),
            "DeadLetters": self._alarm(
                "ScheduleDeadLettersAlarm",
                self.dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
                "ecr-sweeper: a run could not start (EventBridge could not invoke the target, or Lambda dropped a "
                "throttled invocation after its maximum event age), or a run failed (the function's on-failure "
                "destination). The queue's message says which.",
                threshold=0,
            ),
        }

        if state_machine is not None:
            self.alarms["ExecutionsFailed"] = self._failed_alarm(
                "ExecutionsFailedAlarm",
                state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
                "ecr-sweeper's state machine failed: a repository could not be swept, or a step failed. Open the "
                "execution, and read the repository_error log records.",
            )

        self.queries = [
            logs.QueryDefinition(
                self,
                f"Query{n}",
                query_definition_name=f"ecr-sweeper/{name}",
                query_string=logs.QueryString(**query),  # type: ignore[arg-type]
                log_groups=[log_group],
            )
            for n, (name, query) in enumerate(QUERIES.items())
        ]

        self.dashboard = cloudwatch.Dashboard(
            # Dashboards are global to the account: the region keeps a second region's stack apart.
            self,
            "Dashboard",
            dashboard_name=f"{stack.stack_name}-{stack.region}-sweeps",
            default_interval=Duration.days(14),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Digests deleted", left=[emitted("ImagesDeleted")], width=8),
            cloudwatch.GraphWidget(title="Bytes reclaimed", left=[emitted("BytesReclaimed")], width=8),
            cloudwatch.GraphWidget(
                title="Protected, by reason",
                # Every family the function emits (report.py: ProtectedBy<Family>), from its own enum.
                left=[emitted(f"ProtectedBy{family.value}") for family in Protection],
                stacked=True,
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Failures",
                left=[
                    emitted(name)
                    for name in (
                        "DeleteFailures",
                        "RepositoryErrors",
                        "InvalidRetentionTags",
                        "InUseScanFailures",
                        "RepositoriesDeferred",
                        "RepositoriesStarved",
                    )
                ],
                right=[function.metric_errors(period=Duration.hours(1), statistic="Sum")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Run duration",
                left=[function.metric_duration(period=Duration.hours(1), statistic="Maximum")],
                width=12,
            ),
        )

    def _failed_alarm(self, construct_id: str, failures: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        """One failed run (an error, a failed execution) in 5 minutes is enough to page."""
        return self._alarm(
            construct_id,
            failures,
            description,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            threshold=1,
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        threshold: float = 0,
        periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        on_insufficient_data: bool = False,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            alarm_description=description,
            comparison_operator=comparison,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        if on_insufficient_data:
            alarm.add_insufficient_data_action(actions.SnsAction(self.topic))
        return alarm
