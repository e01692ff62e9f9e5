"""The Step Functions engine: one scheduled execution spreads the sweep over many invocations.

List (one invocation) -> ScanInUse (the execution's one in-use scan, invoked again until complete,
written to the work bucket as its picture) -> Map over batches of repositories (bounded concurrency;
a distributed Map reading the batches from S3 when they would not fit in the 256 KiB state), each
batch reading the picture -> Collect, which fails the execution if any repository failed. Every step
runs the same code as the function.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, Duration, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ecr_sweeper.core.constants import IN_USE_MAX_AGE_MINUTES_ENV, REPOSITORIES_PER_INVOCATION_ENV, WORK_BUCKET_ENV

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
        in_use_max_age_minutes: int = 15,
        removal: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)

        self.bucket = s3.Bucket(
            self,
            "WorkBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            lifecycle_rules=[s3.LifecycleRule(expiration=WORK_RETENTION)],
            removal_policy=removal,
            # CloudFormation deletes only an empty bucket (DELETE_FAILED otherwise), and the in-use cache
            # is rewritten here every night: a bucket removed with the stack is emptied first.
            auto_delete_objects=removal == RemovalPolicy.DESTROY,
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
                reason="s3:PutObject for the list step's batch list and s3:GetObject for the collect step's Map "
                "results, nothing else, on objects of this stack's own work bucket only. The keys are made per "
                "execution (runs/<request id>/, results/<map run id>/), so no narrower fixed ARN exists.",
            )
        )

        # A copy: the caller's props also build the scheduled function.
        props = dict(function_props)
        environment = dict(props.pop("environment"))  # type: ignore[call-overload]
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
                IN_USE_MAX_AGE_MINUTES_ENV: str(in_use_max_age_minutes),
            },
            **props,  # type: ignore[arg-type]
        )

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(map_concurrency)),
            logs=sfn.LogOptions(
                destination=logs.LogGroup(
                    self,
                    "ExecutionLogs",
                    # Step Functions developer guide, "Best practices", logging to CloudWatch Logs: a
                    # name under /aws/vendedlogs/ lets the service use one wildcard in the account's
                    # CloudWatch Logs resource policy, which is limited to 5,120 characters; otherwise
                    # each state machine adds its log group to it, and near the limit the state
                    # machine cannot be created. The stack's own ID ends the name, so that a stack
                    # created again beside a retained log group of its predecessor never collides.
                    log_group_name=Fn.join(
                        "",
                        [
                            f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-",
                            Fn.select(2, Fn.split("/", Aws.STACK_ID)),
                        ],
                    ),
                    retention=log_retention,
                    removal_policy=removal,
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
            tracing_enabled=True,
            comment="ecr-sweeper: sweep every repository, spread over many function invocations",
        )
        bucket, function, machine = _logical(self.bucket), _logical(self.function), _logical(self.state_machine)
        executions = (
            'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":'
            f'[":",{{"Ref":"{machine}"}}]}}]}}'
        )
        # No bucket grant beyond what CDK derives from the Map's ItemReader and ResultWriter: those are
        # the only S3 actions the state machine performs (Step Functions developer guide, "IAM
        # policies for Distributed Map").
        findings = {
            f"Resource::<{bucket}.Arn>/*": "The distributed Map's ItemReader reads the batch list (s3:GetObject) "
            "and its ResultWriter writes the results (s3:PutObject and the multipart actions it needs), on "
            "objects of this stack's own work bucket only; the keys are made per execution.",
            f"Resource::arn:<AWS::Partition>:s3:::<{bucket}>/*": "The same ResultWriter objects of the same bucket, "
            "in the ARN form CDK writes for ResultWriterV2's policy.",
            f"Resource::<{function}.Arn>:*": "LambdaInvoke's policy names the steps function and its qualified ARNs "
            "(versions, aliases), so that a retried qualified invoke is allowed; no other function.",
            "Resource::*": "X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, "
            "GetSamplingTargets) and vended log delivery (logs:CreateLogDelivery and its Get/Update/Delete/List, "
            "PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) support no resource-level "
            "permissions (Service Authorization Reference); Step Functions documents exactly these for tracing "
            "and execution logging.",
            f"Resource::{executions}:*": "The distributed Map runs child executions of this state machine and "
            "describes and stops them; the service names them, so the ARN is this state machine's execution prefix.",
            f"Resource::{executions}/*:*": "The child executions' own ARNs under the same prefix, for the same calls.",
        }
        Validations.of(self.state_machine).acknowledge(
            *[Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason) for finding, reason in findings.items()]
        )

    def _invoke(
        self, label: str, payload: dict[str, object] | None = None, result_path: str | None = None
    ) -> tasks.LambdaInvoke:
        """Invoke the steps function with `payload`, or (None) with the state's whole input; its
        answer replaces the state, or (`result_path`) goes there in it."""
        return tasks.LambdaInvoke(
            self,
            label,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(payload) if payload else None,
            payload_response_only=True,
            retry_on_service_exceptions=True,
            result_path=result_path,
        )

    def _definition(self, map_concurrency: int) -> sfn.IChainable:
        listing = self._invoke("List", {"step": "list", "input": sfn.JsonPath.object_at("$")})
        # The execution's one in-use scan, before any batch: invoked again, each time going on from
        # the in-use cache, until it is complete (a cold scan of a large account takes several
        # invocations); the batches then read its picture instead of scanning again.
        scan = self._invoke(
            "ScanInUse",
            {
                "step": "scan",
                "execution": sfn.JsonPath.string_at("$$.Execution.Name"),
                "invocations": sfn.JsonPath.number_at("$.scan.invocations"),
            },
            result_path="$.scan",
        )
        item = {
            "step": "sweep",
            "repositories": sfn.JsonPath.list_at("$$.Map.Item.Value.repositories"),
            "dryRun": sfn.JsonPath.string_at("$.dryRun"),
            "asOf": sfn.JsonPath.string_at("$.asOf"),
            "deletingStarts": sfn.JsonPath.string_at("$.deletingStarts"),
            # The batch's number keeps its own rotation cursor, when the list step listed the
            # whole region (rotate); a batch of named repositories moves no cursor.
            "batch": sfn.JsonPath.number_at("$$.Map.Item.Index"),
            "rotate": sfn.JsonPath.string_at("$.rotate"),
            "picture": sfn.JsonPath.string_at("$.scan.picture"),
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
        batches = (
            sfn.Choice(self, "FitsInState")
            .when(sfn.Condition.is_present("$.itemsKey"), distributed.next(collect_written))
            .otherwise(inline.next(collect_inline))
        )
        return listing.next(scan).next(
            sfn.Choice(self, "ScanComplete")
            .when(sfn.Condition.boolean_equals("$.scan.complete", True), batches)
            .otherwise(scan)
        )


def _logical(construct: Construct) -> str:
    """The CloudFormation logical id cdk-nag prints for a construct's main resource."""
    child = construct.node.default_child
    return Stack.of(construct).get_logical_id(child)  # type: ignore[arg-type]
