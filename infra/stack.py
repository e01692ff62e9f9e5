"""The ecr-sweeper stack: a scheduled function, its logs, its least-privilege role and its alarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as lambda_destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ecr_sweeper.core.constants import (
    CURSOR_PARAMETER_ENV,
    FIRST_RUN_PARAMETER_ENV,
    IN_USE_CACHE_BUCKET_ENV,
    LEGACY_CURSOR_PARAMETER_ENV,
    LEGACY_FIRST_RUN_PARAMETER_ENV,
)
from infra.bundling import function_code
from infra.config import LOG_RETENTION_DAYS, SweeperConfig
from infra.engine import StepFunctionsEngine
from infra.observability import TARGET_MAX_EVENT_AGE, TARGET_RETRY_ATTEMPTS, Observability
from infra.role import SweeperRole

HANDLER = "ecr_sweeper.handler.lambda_handler"
# The newest Python runtime for which the official Powertools layer is published; the layer is
# not used (Powertools is bundled), but its runtime list is the support statement we rely on.
RUNTIME = lambda_.Runtime.PYTHON_3_14
# One invocation may sweep for the Lambda maximum: a large account needs it.
TIMEOUT = Duration.minutes(15)
# Lambda allots CPU in proportion to memory, and a sweep's own work is CPU: botocore signing each
# call and parsing up to 1,000 image details per page, for up to MAX_WORKERS calls in flight.
# 1,769 MB is one full vCPU (Lambda developer guide, "Memory and computing power").
MEMORY_MB = 1769

_RETENTION = dict(zip(LOG_RETENTION_DAYS, list(logs.RetentionDays)[: len(LOG_RETENTION_DAYS)], strict=True))


class EcrSweeperStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: SweeperConfig, code_path: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        # Retained by default: the logs are the audit trail of every deletion (docs, "Uninstall").
        removal = RemovalPolicy.DESTROY if config.delete_on_destroy else RemovalPolicy.RETAIN
        log_group = logs.LogGroup(
            self, "FunctionLogs", retention=_RETENTION[config.log_retention_days], removal_policy=removal
        )

        sweeper_role = SweeperRole(
            self,
            "FunctionRole",
            regions=config.regions,
            log_group=log_group,
            protect_in_use=config.protect_in_use,
            eks_clusters=config.eks_clusters,
            in_vpc=bool(config.vpc_subnet_ids),
            consumers=config.consumers,
            organization_id=config.organization_id,
        )
        role = sweeper_role.role

        # The sweeper reads index manifests with BatchGetImage, which counts as a pull: without this
        # exclusion it would refresh lastRecordedPullTime of the very indexes it judges, so an
        # untagged index would never expire. CloudFormation registers it on create and
        # deregisters it on delete (RegisterPullTimeUpdateExclusion / Deregister...).
        self.pull_time_exclusion = ecr.CfnPullTimeUpdateExclusion(
            self, "PullTimeUpdateExclusion", principal_arn=role.role_arn
        )

        # State the function keeps between runs (cursor.py): parameters under this path that the
        # function creates and rewrites itself. None of them is a resource of this stack: the
        # AWS::SSM::Parameter update handler puts the template's value again, with Overwrite, on any
        # update of the resource, stack tags included, which would start a new preview week and
        # restart the rotation after every such deploy.
        state = f"/ecr-sweeper/{self.stack_name}/state"

        # Where versions before the state path kept the same values. They stay in the template exactly
        # as they were (any change to them is an update, which would put "-" back before the function
        # read them; and a resource that leaves the template is deleted): the function reads them,
        # never writes them, while its own parameter does not exist yet.
        def legacy_parameter(construct_id: str, path: str, description: str) -> ssm.StringParameter:
            return ssm.StringParameter(
                self,
                construct_id,
                parameter_name=f"/ecr-sweeper/{self.stack_name}/{path}",
                description=f"ecr-sweeper: {description}",
                string_value="-",
            )

        self.legacy_cursor = legacy_parameter(
            "NextStart", "next-start", "the repository the next sweep starts with (- means the first)"
        )
        legacy_cursors = [self.legacy_cursor] + [
            legacy_parameter(
                f"NextStart-{region}",
                f"next-start/{region}",
                f"where the next sweep of {region} starts (- means the first repository)",
            )
            for region in config.regions
        ]
        self.legacy_first_run = legacy_parameter(
            "FirstRun", "first-run", "when the function first ran (- until it does); the preview week counts from it"
        )
        sweeper_role.grant_state(
            state,
            legacy=[*legacy_cursors, self.legacy_first_run],
            # The name itself, not the parameter's token: the grant's ARN and its cdk-nag reason need text.
            legacy_batch_cursors=f"/ecr-sweeper/{self.stack_name}/next-start"
            if config.engine == "stepfunctions"
            else None,
        )

        code = function_code(code_path)
        shared: dict[str, Any] = {
            "runtime": RUNTIME,
            "architecture": lambda_.Architecture.ARM_64,
            "code": code,
            "timeout": TIMEOUT,
            "memory_size": MEMORY_MB,
            "log_group": log_group,
            "environment": {
                **config.function_environment(),
                CURSOR_PARAMETER_ENV: f"{state}/next-start",
                FIRST_RUN_PARAMETER_ENV: f"{state}/first-run",
                LEGACY_CURSOR_PARAMETER_ENV: self.legacy_cursor.parameter_name,
                LEGACY_FIRST_RUN_PARAMETER_ENV: self.legacy_first_run.parameter_name,
            },
        }
        self.function = lambda_.Function(
            self,
            "Function",
            description="ecr-sweeper: deletes expired untagged ECR image digests",
            handler=HANDLER,
            role=role,
            **shared,
            # Optional: two sweeps never overlap then. An overlap is safe without it: each batch is
            # re-checked just before its delete, so the second sweep finds the first one's deletions gone.
            reserved_concurrent_executions=1 if config.reserve_concurrency else None,
        )

        self.function.node.add_dependency(self.pull_time_exclusion)

        self.engine: StepFunctionsEngine | None = None
        if config.engine == "stepfunctions":
            self.engine = StepFunctionsEngine(
                self,
                "Engine",
                function_props=shared,
                role=role,
                log_retention=_RETENTION[config.log_retention_days],
                map_concurrency=config.map_concurrency,
                repositories_per_invocation=config.repositories_per_invocation,
                in_use_max_age_minutes=config.in_use_max_age_minutes,
                removal=removal,
            )
            self.engine.function.node.add_dependency(self.pull_time_exclusion)

        # What the in-use scan learned that never changes (in_use_cache.py): in the engine's work
        # bucket, or in a bucket of its own. Without the scan there is nothing to cache.
        self.in_use_cache: s3.IBucket | None = None
        if config.protect_in_use:
            self.in_use_cache = self.engine.bucket if self.engine else self._in_use_cache_bucket(removal)
            for function in [self.function, *([self.engine.function] if self.engine else [])]:
                function.add_environment(IN_USE_CACHE_BUCKET_ENV, self.in_use_cache.bucket_name)
            sweeper_role.grant_in_use_cache(self.in_use_cache)

        # A cluster with only a private endpoint is reachable only from its VPC (vpcSubnetIds).
        if config.vpc_subnet_ids:
            for function in [self.function, *([self.engine.function] if self.engine else [])]:
                cfn_function = function.node.default_child
                assert isinstance(cfn_function, lambda_.CfnFunction)
                cfn_function.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
                    subnet_ids=list(config.vpc_subnet_ids), security_group_ids=list(config.vpc_security_group_ids)
                )

        self.observability = Observability(
            self,
            "Observability",
            # The function the schedule runs: with the Step Functions engine, the steps function (the
            # scheduled function is then an idle twin, run by hand if at all).
            function=self.engine.function if self.engine else self.function,
            log_group=log_group,
            alarm_email=config.alarm_email,
            removal=removal,
            runs_started=self.engine.state_machine.metric_started()
            if self.engine
            else self.function.metric_invocations(),
            state_machine=self.engine.state_machine if self.engine else None,
        )
        # A failed sweep raises so the alarm fires; re-running the whole sweep at once would repeat
        # every call against the same failure, so the next scheduled run tries again. EventBridge
        # invokes the function asynchronously: a throttled invocation waits in Lambda's own async
        # queue, and is dropped after its maximum event age unless the function has an on-failure
        # destination (Lambda developer guide, "Asynchronous invocation"). That destination is the
        # schedule's dead-letter queue, so a run that never started is never silent.
        self.function.configure_async_invoke(
            retry_attempts=0,
            on_failure=None if self.engine else lambda_destinations.SqsDestination(self.observability.dead_letters),
        )
        # A run that EventBridge could not start is retried, then dead-lettered, and the
        # dead-letter queue's alarm says so: a missed night is never silent.
        delivery: dict[str, Any] = {
            "dead_letter_queue": self.observability.dead_letters,
            "retry_attempts": TARGET_RETRY_ATTEMPTS,
            "max_event_age": TARGET_MAX_EVENT_AGE,
        }
        target: events.IRuleTarget = (
            # The execution input is the scheduled event itself, as the function would receive it.
            targets.SfnStateMachine(self.engine.state_machine, **delivery)
            if self.engine
            else targets.LambdaFunction(self.function, **delivery)
        )

        self.rule = events.Rule(
            self,
            "Schedule",
            description="ecr-sweeper nightly run",
            schedule=events.Schedule.expression(config.schedule),
            targets=[target],
        )

        # What an operator looks up after a deploy (the docs use these names, never logical ids).
        outputs = {
            "FunctionName": (self.function.function_name, "the scheduled function (lambda engine) or its twin"),
            "RoleArn": (role.role_arn, "the function's role: register it as a pull-time update exclusion elsewhere"),
            "LogGroupName": (log_group.log_group_name, "every verdict, with its reason"),
            "DashboardUrl": (
                f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}#dashboards:name="
                f"{self.observability.dashboard.dashboard_name}",
                "the sweeps, night by night",
            ),
            "AlarmTopicArn": (self.observability.topic.topic_arn, "subscribe on-call here"),
        }
        if self.engine is not None:
            outputs["StateMachineArn"] = (self.engine.state_machine.state_machine_arn, "the scheduled state machine")
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=f"ecr-sweeper: {description}")

    def _in_use_cache_bucket(self, removal: RemovalPolicy) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "InUseCacheBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # Retained by default, as the work bucket. CloudFormation deletes only an empty bucket, and
            # the function rewrites the cache every night: a bucket removed with the stack is emptied first.
            removal_policy=removal,
            auto_delete_objects=removal == RemovalPolicy.DESTROY,
        )
        Validations.of(bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="The bucket holds only the in-use cache, one object per account and region that the "
                "function's role rewrites every night; what the sweep decides from it is audited in the "
                "function's own logs.",
            )
        )
        return bucket
