"""The Step Functions engine: one scheduled execution spreads the sweep over many invocations.

List (one invocation) -> Map over batches of repositories (bounded concurrency; a distributed
Map reading the batches from S3 when they would not fit in the 256 KiB state) -> Collect, which
fails the execution if any repository failed. Every step runs the same code as the function.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ecr_sweeper.constants import REPOSITORIES_PER_INVOCATION_ENV, WORK_BUCKET_ENV

STEPS_HANDLER = "ecr_sweeper.stepfunctions.handler"
WORK_RETENTION = Duration.days(7)


class StepFunctionsEngine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_props: dict[str, object],
        role: iam.Role,
        log_retention: logs.RetentionDays,
        map_concurrency: int,
        repositories_per_invocation: int,
    ) -> None:
        super().__init__(scope, construct_id)

        self.bucket = s3.Bucket(
            self,
            "WorkBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            lifecycle_rules=[s3.LifecycleRule(expiration=WORK_RETENTION)],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="The bucket holds only the state machine's transient batch lists and Map results, "
                "expired after 7 days; every deletion is audited in the function's own logs.",
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[self.bucket.arn_for_objects("*")])
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{_logical(self.bucket)}.Arn>/*]",
                reason="The list step writes batch lists, and the collect step reads Map results, as objects of "
                "the engine's own work bucket; the keys are made per execution.",
            )
        )

        environment = dict(function_props.pop("environment"))  # type: ignore[call-overload]
        self.function = lambda_.Function(
            self,
            "StepsFunction",
            description="ecr-sweeper: the steps of the Step Functions engine (list, sweep a batch, collect)",
            handler=STEPS_HANDLER,
            role=role,
            environment={
                **environment,
                WORK_BUCKET_ENV: self.bucket.bucket_name,
                REPOSITORIES_PER_INVOCATION_ENV: str(repositories_per_invocation),
            },
            **function_props,  # type: ignore[arg-type]
        )

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(map_concurrency)),
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "ExecutionLogs", retention=log_retention),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
            tracing_enabled=True,
            comment="ecr-sweeper: sweep every repository, spread over many function invocations",
        )
        self.bucket.grant_read_write(self.state_machine)
        bucket, function, machine = _logical(self.bucket), _logical(self.function), _logical(self.state_machine)
        executions = (
            'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":'
            f'[":",{{"Ref":"{machine}"}}]}}]}}'
        )
        findings = {
            **_STATE_MACHINE_WILDCARDS,
            f"Resource::<{bucket}.Arn>/*": "The Map's ItemReader and ResultWriter use objects of the work bucket only.",
            f"Resource::arn:<AWS::Partition>:s3:::<{bucket}>/*": "As above, in the form the ResultWriter policy uses.",
            f"Resource::<{function}.Arn>:*": "LambdaInvoke may call any version of the steps function, and only it.",
            "Resource::*": "X-Ray tracing (xray:PutTraceSegments and related) and execution logging "
            "(logs:CreateLogDelivery and related) support no resource-level permissions.",
            f"Resource::{executions}:*": "The distributed Map starts and reads its own child executions.",
            f"Resource::{executions}/*:*": "As above, for the child executions' own ARNs.",
        }
        Validations.of(self.state_machine).acknowledge(
            *[Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason) for finding, reason in findings.items()]
        )

    def _invoke(self, label: str, payload: dict[str, object] | None = None) -> tasks.LambdaInvoke:
        """Invoke the steps function with `payload`, or (None) with the state's whole input."""
        return tasks.LambdaInvoke(
            self,
            label,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(payload) if payload else None,
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )

    def _definition(self, map_concurrency: int) -> sfn.IChainable:
        listing = self._invoke("List", {"step": "list", "input": sfn.JsonPath.object_at("$")})
        item = {
            "step": "sweep",
            "repositories": sfn.JsonPath.list_at("$$.Map.Item.Value.repositories"),
            "dryRun": sfn.JsonPath.string_at("$.dryRun"),
            "asOf": sfn.JsonPath.string_at("$.asOf"),
        }
        inline = sfn.Map(
            self,
            "SweepBatches",
            items_path="$.batches",
            item_selector=item,
            max_concurrency=map_concurrency,
        ).item_processor(self._invoke("SweepBatch"))
        distributed = sfn.DistributedMap(
            self,
            "SweepBatchesFromS3",
            item_reader=sfn.S3JsonItemReader(bucket=self.bucket, key=sfn.JsonPath.string_at("$.itemsKey")),
            item_selector=item,
            max_concurrency=map_concurrency,
            result_writer_v2=sfn.ResultWriterV2(bucket=self.bucket, prefix="results"),
        )
        distributed.item_processor(self._invoke("SweepBatchFromS3"))
        collect_inline = self._invoke("Collect", {"step": "collect", "results": sfn.JsonPath.object_at("$")})
        collect_written = self._invoke(
            "CollectFromS3", {"step": "collect", "resultWriter": sfn.JsonPath.object_at("$.ResultWriterDetails")}
        )
        return listing.next(
            sfn.Choice(self, "FitsInState")
            .when(sfn.Condition.is_present("$.itemsKey"), distributed.next(collect_written))
            .otherwise(inline.next(collect_inline))
        )


_STATE_MACHINE_WILDCARDS = {
    "Action::s3:Abort*": "Granted by Bucket.grant_read_write for the Map's ItemReader and ResultWriter, "
    "on the work bucket only.",
    "Action::s3:DeleteObject*": "As above: the ResultWriter manages its own result objects in the work bucket.",
    "Action::s3:GetBucket*": "As above, on the work bucket only.",
    "Action::s3:GetObject*": "As above, on the work bucket only.",
    "Action::s3:List*": "As above, on the work bucket only.",
}


def _logical(construct: Construct) -> str:
    """The CloudFormation logical id cdk-nag prints for a construct's main resource."""
    child = construct.node.default_child
    return Stack.of(construct).get_logical_id(child)  # type: ignore[arg-type]
