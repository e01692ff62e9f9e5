"""The ecr-sweeper stack: a scheduled function, its logs, its least-privilege role and its alarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundling import function_code
from infra.config import LOG_RETENTION_DAYS, SweeperConfig

HANDLER = "ecr_sweeper.handler.lambda_handler"
# The newest Python runtime for which the official Powertools layer is published; the layer is
# not used (Powertools is bundled), but its runtime list is the support statement we rely on.
RUNTIME = lambda_.Runtime.PYTHON_3_14
# The ECR actions the function calls (registry.py), and nothing more.
ECR_ACTIONS = ("ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:DescribeImages", "ecr:BatchDeleteImage")
# One invocation may sweep for the Lambda maximum: a large account needs it.
TIMEOUT = Duration.minutes(15)
MEMORY_MB = 512

_RETENTION = dict(zip(LOG_RETENTION_DAYS, list(logs.RetentionDays)[: len(LOG_RETENTION_DAYS)], strict=True))


class EcrSweeperStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: SweeperConfig, code_path: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        log_group = logs.LogGroup(self, "FunctionLogs", retention=_RETENTION[config.log_retention_days])

        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="ecr-sweeper: read ECR repositories and images, delete expired untagged digests",
        )
        log_group.grant_write(role)
        repositories = self.format_arn(service="ecr", resource="repository", resource_name="*")
        role.add_to_policy(iam.PolicyStatement(actions=list(ECR_ACTIONS), resources=[repositories]))
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]",
                reason="The sweeper walks every repository of the account and region by design; the actions "
                "are the four it calls, and the ARN is limited to repositories of this account and region.",
            ),
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description="ecr-sweeper: deletes expired untagged ECR image digests",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=function_code(code_path),
            timeout=TIMEOUT,
            memory_size=MEMORY_MB,
            role=role,
            log_group=log_group,
            environment=config.function_environment(),
            # Two sweeps never race: a manual run waits in the async queue while the nightly one works.
            reserved_concurrent_executions=1 if config.reserve_concurrency else None,
            # A failed sweep raises so the alarm fires; re-running the whole sweep at once would
            # repeat every call against the same failure. The next scheduled run tries again.
            retry_attempts=0,
        )

        self.rule = events.Rule(
            self,
            "Schedule",
            description="ecr-sweeper nightly run",
            schedule=events.Schedule.expression(config.schedule),
            targets=[targets.LambdaFunction(self.function)],
        )

        self.errors_alarm = cloudwatch.Alarm(
            self,
            "ErrorsAlarm",
            alarm_description="ecr-sweeper failed: a repository could not be swept, or the run itself failed. "
            "Read the function's repository_error and config_error log records.",
            metric=self.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
