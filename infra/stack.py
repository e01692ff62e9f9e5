"""The ecr-sweeper stack: a scheduled function, its logs, its least-privilege role and its alarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks as eks
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as lambda_destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ecr_sweeper.constants import CURSOR_PARAMETER_ENV, FIRST_RUN_PARAMETER_ENV
from infra.bundling import function_code
from infra.config import LOG_RETENTION_DAYS, SweeperConfig
from infra.engine import StepFunctionsEngine
from infra.observability import TARGET_MAX_EVENT_AGE, TARGET_RETRY_ATTEMPTS, Observability

HANDLER = "ecr_sweeper.handler.lambda_handler"
# The newest Python runtime for which the official Powertools layer is published; the layer is
# not used (Powertools is bundled), but its runtime list is the support statement we rely on.
RUNTIME = lambda_.Runtime.PYTHON_3_14
# The ECR actions the function calls (registry.py), and nothing more.
ECR_ACTIONS = (
    "ecr:DescribeRepositories",
    "ecr:ListTagsForResource",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:BatchDeleteImage",
)
# State between runs (cursor.py): where the next sweep starts and when the first run was, on their parameters.
SSM_ACTIONS = ("ssm:GetParameter", "ssm:PutParameter")
# The in-use scan (usage.py): which digests the region's workloads run or will pull. Actions that
# support no resource-level permission (Service Authorization Reference: no resource type listed
# for them) are granted on "*", limited to the swept regions by aws:RequestedRegion.
IN_USE_UNSCOPED_ACTIONS = (
    "lambda:ListFunctions",
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:ListTasks",
    "ecs:ListTaskDefinitions",
    "ecs:DescribeTaskDefinition",
    "batch:DescribeJobDefinitions",
    "apprunner:ListServices",
    "sagemaker:ListModels",
    "eks:ListClusters",
    "inspector2:ListCoverage",
)
# Action -> the narrowest resource type it accepts (service, resource type, separator before the
# name), and why reading every such resource of the account and region is needed.
IN_USE_SCOPED_ACTIONS: dict[str, tuple[str, str, str, str]] = {
    "lambda:GetFunction": ("lambda", "function", ":", "each image function version is read for the digest it runs"),
    "ecs:DescribeServices": ("ecs", "service", "/", "each service is read for the task definitions it deploys"),
    "ecs:DescribeServiceRevisions": (
        "ecs",
        "service-revision",
        "/",
        "each current service revision is read for the digests ECS resolved for it",
    ),
    "ecs:DescribeTasks": ("ecs", "task", "/", "running tasks are read for the digests they were started from"),
    "apprunner:DescribeService": ("apprunner", "service", "/", "each App Runner service is read for its image"),
    "sagemaker:DescribeModel": ("sagemaker", "model", "/", "each SageMaker model is read for its container images"),
    "sagemaker:DescribeModelPackage": (
        "sagemaker",
        "model-package",
        "/",
        "the model packages that models are built from are read for their images",
    ),
    "eks:DescribeCluster": ("eks", "cluster", "/", "each cluster is read for its API endpoint and CA"),
}
# What AWSLambdaVPCAccessExecutionRole grants, inline (no managed policies): Lambda creates and
# removes the function's network interfaces in the given subnets (Lambda developer guide,
# "Giving Lambda functions access to resources in an Amazon VPC", execution role permissions).
VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
# EKS access policy that reads every namespace's workloads and nothing secret (EKS user guide,
# "Access policy permissions": AmazonEKSViewPolicy).
EKS_VIEW_POLICY = "AmazonEKSViewPolicy"
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

        # Retained by default: the logs are the audit trail of every deletion (README, "Uninstall").
        removal = RemovalPolicy.DESTROY if config.delete_on_destroy else RemovalPolicy.RETAIN
        log_group = logs.LogGroup(
            self, "FunctionLogs", retention=_RETENTION[config.log_retention_days], removal_policy=removal
        )

        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="ecr-sweeper: read ECR repositories and images, delete expired untagged digests",
        )
        log_group.grant_write(role)
        # Every permission is scoped to exactly the swept regions (the stack's own by default).
        self.regions: list[str | None] = list(config.regions) or [None]
        role.add_to_policy(
            iam.PolicyStatement(actions=list(ECR_ACTIONS), resources=self._arns("ecr", "repository", "/"))
        )
        acknowledgments = [
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{arn}]",
                reason="The sweeper walks every repository of the account and region by design; the actions "
                "are the ones it calls, and the ARN is limited to repositories of this account and region.",
            )
            for arn in self._nag_arns("ecr", "repository", "/")
        ]
        # Actions that take no resource ARN, each with why: one cdk-nag finding covers them all.
        unscoped: list[str] = []
        if config.protect_in_use:
            acknowledgments += self._grant_in_use_scan(role, unscoped)
        if config.vpc_subnet_ids:
            role.add_to_policy(iam.PolicyStatement(actions=list(VPC_ACTIONS), resources=["*"]))
            unscoped.append(
                f"{', '.join(VPC_ACTIONS)} let Lambda manage the function's network interfaces in the configured "
                "subnets (vpcSubnetIds); EC2 documents no narrower resource for them when Lambda creates the "
                "interfaces, and they are what AWSLambdaVPCAccessExecutionRole grants."
            )
        if unscoped:
            acknowledgments.append(Acknowledgment(id="AwsSolutions-IAM5[Resource::*]", reason=" ".join(unscoped)))
        Validations.of(role).acknowledge(*acknowledgments)
        # Read access to the Kubernetes API of each named cluster, for the in-use scan: an EKS access
        # entry for the function's role with the view policy at cluster scope (EKS user guide,
        # "Grant IAM users access to Kubernetes with EKS access entries").
        for cluster in config.eks_clusters if config.protect_in_use else ():
            eks.CfnAccessEntry(
                self,
                f"EksAccess-{cluster}",
                cluster_name=cluster,
                principal_arn=role.role_arn,
                access_policies=[
                    eks.CfnAccessEntry.AccessPolicyProperty(
                        policy_arn=f"arn:{Aws.PARTITION}:eks::aws:cluster-access-policy/{EKS_VIEW_POLICY}",
                        access_scope=eks.CfnAccessEntry.AccessScopeProperty(type="cluster"),
                    )
                ],
            )

        # The sweeper reads index manifests with BatchGetImage, which counts as a pull: without this
        # exclusion it would refresh lastRecordedPullTime of the very indexes it judges, so an
        # untagged index would never expire. CloudFormation registers it on create and
        # deregisters it on delete (RegisterPullTimeUpdateExclusion / Deregister...).
        self.pull_time_exclusion = ecr.CfnPullTimeUpdateExclusion(
            self, "PullTimeUpdateExclusion", principal_arn=role.role_arn
        )

        # State the function keeps between runs (cursor.py); it reads and overwrites these, nothing
        # else does. "-" means nothing recorded yet.
        def parameter(construct_id: str, path: str, description: str) -> ssm.StringParameter:
            return ssm.StringParameter(
                self,
                construct_id,
                # Named after the stack, so that an operator finds it (and moto's CloudFormation, which
                # cannot generate a name, can create it).
                parameter_name=f"/ecr-sweeper/{self.stack_name}/{path}",
                description=f"ecr-sweeper: {description}",
                string_value="-",
            )

        # Where the next sweep starts when a run is cut by the deadline.
        self.cursor = parameter(
            "NextStart", "next-start", "the repository the next sweep starts with (- means the first)"
        )
        cursors = [self.cursor] + [
            parameter(
                f"NextStart-{region}",
                f"next-start/{region}",
                f"where the next sweep of {region} starts (- means the first repository)",
            )
            for region in config.regions
        ]
        # When the function first ran: the preview week counts from it.
        self.first_run = parameter(
            "FirstRun", "first-run", "when the function first ran (- until it does); the preview week counts from it"
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(SSM_ACTIONS),
                resources=[parameter.parameter_arn for parameter in [*cursors, self.first_run]],
            )
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
                CURSOR_PARAMETER_ENV: self.cursor.parameter_name,
                FIRST_RUN_PARAMETER_ENV: self.first_run.parameter_name,
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
                removal=removal,
            )
            self.engine.function.node.add_dependency(self.pull_time_exclusion)

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
            function=self.function,
            log_group=log_group,
            alarm_email=config.alarm_email,
            removal=removal,
            runs_started=self.engine.state_machine.metric_started()
            if self.engine
            else self.function.metric_invocations(),
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
        self.observability.notify(self.errors_alarm)
        if self.engine is not None:
            self.executions_alarm = cloudwatch.Alarm(
                self,
                "ExecutionsFailedAlarm",
                alarm_description="ecr-sweeper's state machine failed: a repository could not be swept, or a "
                "step failed. Open the execution, and read the repository_error log records.",
                metric=self.engine.state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            self.observability.notify(self.executions_alarm)

        # What an operator looks up after a deploy (README uses these names, never logical ids).
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

    def _arns(self, service: str, resource: str, separator: str) -> list[str]:
        arn_format = ArnFormat.COLON_RESOURCE_NAME if separator == ":" else ArnFormat.SLASH_RESOURCE_NAME
        return [
            self.format_arn(service=service, region=region, resource=resource, resource_name="*", arn_format=arn_format)
            for region in self.regions
        ]

    def _nag_arns(self, service: str, resource: str, separator: str) -> list[str]:
        """The ARNs as cdk-nag prints them in a finding's id."""
        return [
            f"arn:<AWS::Partition>:{service}:{region or '<AWS::Region>'}:<AWS::AccountId>:{resource}{separator}*"
            for region in self.regions
        ]

    def _grant_in_use_scan(self, role: iam.Role, unscoped: list[str]) -> list[Acknowledgment]:
        regions = [region or Aws.REGION for region in self.regions]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(IN_USE_UNSCOPED_ACTIONS),
                resources=["*"],
                # These calls take no resource ARN; the region condition scopes them all the same.
                conditions={"StringEquals": {"aws:RequestedRegion": regions}},
            )
        )
        unscoped.append(
            f"{', '.join(IN_USE_UNSCOPED_ACTIONS)} support no resource-level permissions (Service Authorization "
            "Reference); they are read-only, limited to the swept regions by condition, and find the digests "
            "that must never be deleted."
        )
        acknowledgments: list[Acknowledgment] = []
        for action, (service, resource, separator, why) in IN_USE_SCOPED_ACTIONS.items():
            role.add_to_policy(
                iam.PolicyStatement(actions=[action], resources=self._arns(service, resource, separator))
            )
            acknowledgments += [
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{arn}]",
                    reason=f"{action} on every {resource} of this account and region, read-only: {why}.",
                )
                for arn in self._nag_arns(service, resource, separator)
            ]
        return acknowledgments
