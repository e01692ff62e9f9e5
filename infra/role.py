"""The function's role: exactly the calls the runtime makes, scoped as narrowly as each action
allows, and the reason for every cdk-nag finding that a wildcard leaves. The reader role of a
consumer account (reader.py) is granted the in-use scan's reads from the same constants."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, ArnFormat, Aws, Stack, Validations
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ecr_sweeper.core import permissions
from ecr_sweeper.core.constants import IN_USE_CACHE_PREFIX
from ecr_sweeper.core.settings import Consumers

# The ECR actions the function calls (registry.py), and nothing more.
ECR_ACTIONS = permissions.ECR
# State between runs (cursor.py): where the next sweep starts and when the first run was.
SSM_ACTIONS = permissions.STATE
# The in-use cache (in_use_cache.py): read and write its objects, and nothing else of the bucket.
IN_USE_CACHE_ACTIONS = permissions.IN_USE_CACHE


@dataclass(frozen=True)
class Scope:
    """A resource type an action is granted on: every resource of that type in the account and the
    swept regions (or, with `any_account`, in any account of the partition), and why."""

    service: str
    resource: str
    separator: str
    why: str
    any_account: bool = False


# The in-use scan's reads (in_use.py) that take a resource ARN: action -> every resource type the
# Service Authorization Reference (SAR) marks required for it ("you must include an ARN or pattern
# for each required resource type"), each on its narrowest pattern.
IN_USE_SCOPED_ACTIONS: dict[str, tuple[Scope, ...]] = {
    "lambda:GetFunction": (
        Scope("lambda", "function", ":", "each image function version is read for the digest it runs"),
    ),
    "ecs:DescribeServices": (Scope("ecs", "service", "/", "each service is read for the task definitions it deploys"),),
    # The SAR requires both the service and its revisions, and the ECS developer guide grants it on
    # both ("Permissions required for viewing Amazon ECS service deployments").
    "ecs:DescribeServiceRevisions": (
        Scope("ecs", "service", "/", "the services whose current revisions are read"),
        Scope("ecs", "service-revision", "/", "each current service revision is read for the digests ECS resolved"),
    ),
    "ecs:DescribeTasks": (Scope("ecs", "task", "/", "running tasks are read for the digests they were started from"),),
    "apprunner:DescribeService": (Scope("apprunner", "service", "/", "each App Runner service is read for its image"),),
    "sagemaker:DescribeModel": (
        Scope("sagemaker", "model", "/", "each SageMaker model is read for its container images"),
    ),
    # ContainerDefinition.ModelPackageName is "the name or Amazon Resource Name (ARN) of the model
    # package" (SageMaker API reference): a shared model registry's or an AWS Marketplace seller's
    # package lives in another account, and a denied describe fails the whole region closed.
    "sagemaker:DescribeModelPackage": (
        Scope(
            "sagemaker",
            "model-package",
            "/",
            "the model packages that models are built from are read for their images, in whichever account "
            "publishes them (a shared model registry, AWS Marketplace)",
            any_account=True,
        ),
    ),
    "eks:DescribeCluster": (Scope("eks", "cluster", "/", "each cluster is read for its API endpoint and CA"),),
}
# The in-use scan's other reads take no resource ARN (the SAR lists no resource type for them, or,
# for ecs:ListTasks, only the container instance it may filter by, which the scan does not): granted
# on "*", limited to the swept regions by aws:RequestedRegion.
IN_USE_UNSCOPED_ACTIONS = tuple(a for a in permissions.IN_USE_SCAN if a not in IN_USE_SCOPED_ACTIONS)
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
# Central registries: the reader role of each consumer account is assumed (clients.py, Clients.assumed),
# and with consumerAccounts=organization the accounts are listed first (in_use.py).
CONSUMER_ACTIONS = permissions.CONSUMERS
ORGANIZATION_ACTIONS = permissions.ORGANIZATION


def access_entry_id(cluster: str, clusters: Sequence[str]) -> str:
    """The construct id of `cluster`'s access entry among `clusters`: unique for every set of valid
    names. CDK keeps only the letters and digits of a top-level id for its logical id, so "prod-1"
    and "prod1" would both be EksAccessprod1. An entry whose logical id changes is replaced, and
    CloudFormation creates the new entry before it deletes the old one, which EKS refuses for the
    same principal and cluster (ResourceInUseException); so a name keeps the id it always had
    unless another listed name folds to the same letters and digits, and then it is told apart by
    a hash of the name (a name of letters and digits only keeps its id even then)."""
    folded = _alphanumeric(cluster)
    if cluster == folded or sum(_alphanumeric(other) == folded for other in clusters) == 1:
        return f"EksAccess-{cluster}"
    return f"EksAccess-{cluster}-{hashlib.sha256(cluster.encode()).hexdigest()[:8]}"


def _alphanumeric(name: str) -> str:
    return "".join(c for c in name if c.isascii() and c.isalnum())


class RegionalRole(Construct):
    """A role whose permissions are scoped to its stack's account and to the swept regions (the
    stack's own by default), with the reason for every cdk-nag finding a wildcard leaves."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        regions: Sequence[str],
        assumed_by: iam.IPrincipal,
        description: str,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # "Default": the role keeps the logical id it had as a child of the stack.
        self.role = iam.Role(self, "Default", assumed_by=assumed_by, description=description, role_name=role_name)
        self.regions: list[str | None] = list(regions) or [None]

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    def acknowledge(self, *findings: tuple[str, str]) -> None:
        """cdk-nag's AwsSolutions-IAM5 findings on this role, each (finding, reason)."""
        Validations.of(self.role).acknowledge(
            *[Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason) for finding, reason in findings]
        )

    def _arns(self, service: str, resource: str, separator: str, *, any_account: bool = False) -> list[str]:
        stack = Stack.of(self)
        arn_format = ArnFormat.COLON_RESOURCE_NAME if separator == ":" else ArnFormat.SLASH_RESOURCE_NAME
        return [
            stack.format_arn(
                service=service,
                region=region,
                account="*" if any_account else None,
                resource=resource,
                resource_name="*",
                arn_format=arn_format,
            )
            for region in self.regions
        ]

    def _nag_arns(self, service: str, resource: str, separator: str, *, any_account: bool = False) -> list[str]:
        """The ARNs as cdk-nag prints them in a finding's id."""
        account = "*" if any_account else "<AWS::AccountId>"
        return [
            f"arn:<AWS::Partition>:{service}:{region or '<AWS::Region>'}:{account}:{resource}{separator}*"
            for region in self.regions
        ]

    def grant_in_use_scan(self, unscoped: list[str]) -> None:
        """The in-use scan's reads of this account (in_use.py): every action on its narrowest
        resource; the actions that take no resource ARN on "*", in the swept regions only, with
        their reason added to `unscoped` (one cdk-nag finding covers them all)."""
        regions = [region or Aws.REGION for region in self.regions]
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=list(IN_USE_UNSCOPED_ACTIONS),
                resources=["*"],
                # These calls take no resource ARN; the region condition scopes them all the same.
                conditions={"StringEquals": {"aws:RequestedRegion": regions}},
            )
        )
        unscoped.append(
            f"{', '.join(IN_USE_UNSCOPED_ACTIONS)} support no resource-level permissions (Service Authorization "
            "Reference; ecs:ListTasks lists only the container instance it may filter by, which the scan does "
            "not); they are read-only, limited to the swept regions by condition, and find the digests that "
            "must never be deleted."
        )
        for action, scopes in IN_USE_SCOPED_ACTIONS.items():
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=[action],
                    resources=[
                        arn
                        for scope in scopes
                        for arn in self._arns(
                            scope.service, scope.resource, scope.separator, any_account=scope.any_account
                        )
                    ],
                )
            )
            self.acknowledge(
                *[
                    (
                        f"Resource::{arn}",
                        f"{action} on every {scope.resource} of "
                        f"{'any account' if scope.any_account else 'this account'} in the swept regions, read-only: "
                        f"{scope.why}.",
                    )
                    for scope in scopes
                    for arn in self._nag_arns(
                        scope.service, scope.resource, scope.separator, any_account=scope.any_account
                    )
                ]
            )


class SweeperRole(RegionalRole):
    """The role of the function (and of the Step Functions engine's steps function)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        regions: Sequence[str],
        log_group: logs.ILogGroup,
        protect_in_use: bool,
        eks_clusters: Sequence[str] = (),
        in_vpc: bool = False,
        consumers: Consumers | None = None,
        organization_id: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            regions=regions,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="ecr-sweeper: read ECR repositories and images, delete expired untagged digests",
        )
        log_group.grant_write(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(actions=list(ECR_ACTIONS), resources=self._arns("ecr", "repository", "/"))
        )
        self.acknowledge(
            *[
                (
                    f"Resource::{arn}",
                    "The sweeper walks every repository of the account and region by design; the actions are the "
                    "ones it calls, and the ARN is limited to repositories of this account and region.",
                )
                for arn in self._nag_arns("ecr", "repository", "/")
            ]
        )
        # Actions that take no resource ARN, each with why: one cdk-nag finding covers them all.
        unscoped: list[str] = []
        if protect_in_use:
            self.grant_in_use_scan(unscoped)
            self._grant_kubernetes_read(eks_clusters)
            self._grant_consumer_reads(consumers or Consumers(), organization_id, unscoped)
        if in_vpc:
            self.role.add_to_policy(iam.PolicyStatement(actions=list(VPC_ACTIONS), resources=["*"]))
            unscoped.append(
                f"{', '.join(VPC_ACTIONS)} let Lambda manage the function's network interfaces in the configured "
                "subnets (vpcSubnetIds); EC2 documents no narrower resource for them when Lambda creates the "
                "interfaces, and they are what AWSLambdaVPCAccessExecutionRole grants."
            )
        if unscoped:
            self.acknowledge(("Resource::*", " ".join(unscoped)))

    def grant_state(
        self,
        path: str,
        *,
        legacy: Sequence[ssm.IStringParameter] = (),
        legacy_batch_cursors: str | None = None,
    ) -> None:
        """Read and write the function's state: the parameters under `path` (a name such as
        /ecr-sweeper/EcrSweeper/state), which the function creates; and read, never write, where
        earlier versions kept it: the stack's `legacy` parameters and, with `legacy_batch_cursors`
        (a parameter name), the Step Functions batches' cursors under it."""
        stack = Stack.of(self)

        def under(name: str) -> str:
            return stack.format_arn(
                service="ssm",
                resource="parameter",
                resource_name=f"{name.lstrip('/')}/*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )

        nag = "Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter"
        self.role.add_to_policy(iam.PolicyStatement(actions=list(SSM_ACTIONS), resources=[under(path)]))
        self.acknowledge(
            (
                f"{nag}{path}/*",
                "The function keeps where each region's and each Step Functions batch's next sweep starts, and "
                "when it first ran, in parameters it creates under this stack's own state path: the regions and "
                "batches are known at run time, and a parameter of the stack itself would be reset by every deploy "
                "that updates it (CloudFormation puts the template value back).",
            )
        )
        read_only = [parameter.parameter_arn for parameter in legacy]
        if legacy_batch_cursors:
            read_only.append(under(f"{legacy_batch_cursors}/batch"))
            self.acknowledge(
                (
                    f"{nag}{legacy_batch_cursors}/batch/*",
                    "Read only: where the Step Functions batches of earlier versions kept their cursors, read once "
                    "so that an upgrade keeps each batch's rotation; the batches are numbered at run time.",
                )
            )
        if read_only:
            self.role.add_to_policy(iam.PolicyStatement(actions=["ssm:GetParameter"], resources=read_only))

    def grant_in_use_cache(self, bucket: s3.IBucket) -> None:
        """Read and write the in-use cache's objects (in-use-cache/<account>/<region>.json) in
        `bucket`, and list the bucket, so that a cache not written yet reads as missing (404) rather
        than as denied (403): S3 answers 403 for a missing object to a reader who may not list."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=list(IN_USE_CACHE_ACTIONS), resources=[bucket.arn_for_objects(f"{IN_USE_CACHE_PREFIX}/*")]
            )
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn]))
        child = bucket.node.default_child
        logical = Stack.of(bucket).get_logical_id(child)  # type: ignore[arg-type]
        self.acknowledge(
            (
                f"Resource::<{logical}.Arn>/{IN_USE_CACHE_PREFIX}/*",
                "s3:GetObject and s3:PutObject on the in-use cache's objects only, one per account and region "
                f"({IN_USE_CACHE_PREFIX}/<account>/<region>.json): the accounts and regions are known at run time, "
                "and the prefix is the cache's own in this stack's own bucket.",
            )
        )

    def _grant_consumer_reads(self, consumers: Consumers, organization_id: str | None, unscoped: list[str]) -> None:
        """Assume the reader role of each consumer account (central registries): exactly the listed
        accounts' roles, less the ignored ones; with `organization`, that role in any account, then
        only in the organization when its ID is known (aws:ResourceOrgID), and ListAccounts."""
        if not consumers.enabled:
            return
        if not consumers.organization:
            accounts = [account for account in consumers.accounts if account not in consumers.ignored]
            if accounts:
                self.role.add_to_policy(
                    iam.PolicyStatement(
                        actions=list(CONSUMER_ACTIONS),
                        resources=[
                            f"arn:{Aws.PARTITION}:iam::{account}:role/{consumers.role_name}" for account in accounts
                        ],
                    )
                )
            return
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=list(CONSUMER_ACTIONS),
                resources=[f"arn:{Aws.PARTITION}:iam::*:role/{consumers.role_name}"],
                # The organization of the role assumed (IAM user guide, "AWS global condition context
                # keys": aws:ResourceOrgID, which STS's AssumeRole supports).
                conditions={"StringEquals": {"aws:ResourceOrgID": organization_id}} if organization_id else None,
            )
        )
        self.acknowledge(
            (
                f"Resource::arn:<AWS::Partition>:iam::*:role/{consumers.role_name}",
                "consumerAccounts=organization: the in-use scan reads every ACTIVE account of the AWS Organization, "
                "listed at run time, through the reader role of this one name that the EcrSweeperReader stack creates "
                "in each (and that trusts this role only); accounts join and leave the organization without a deploy. "
                + ("The role assumed must belong to the organization (aws:ResourceOrgID)." if organization_id else ""),
            )
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=list(ORGANIZATION_ACTIONS), resources=["*"]))
        unscoped.append(
            f"{', '.join(ORGANIZATION_ACTIONS)} supports no resource-level permission (Service Authorization "
            "Reference); it is read-only and lists the organization's accounts whose workloads the in-use scan reads."
        )

    def _grant_kubernetes_read(self, clusters: Sequence[str]) -> None:
        """Read access to the Kubernetes API of each named cluster, for the in-use scan: an EKS access
        entry for the role with the view policy at cluster scope (EKS user guide, "Grant IAM users
        access to Kubernetes with EKS access entries")."""
        scope = Stack.of(self)
        for cluster in clusters:
            eks.CfnAccessEntry(
                scope,
                access_entry_id(cluster, clusters),
                cluster_name=cluster,
                principal_arn=self.role.role_arn,
                access_policies=[
                    eks.CfnAccessEntry.AccessPolicyProperty(
                        policy_arn=f"arn:{Aws.PARTITION}:eks::aws:cluster-access-policy/{EKS_VIEW_POLICY}",
                        access_scope=eks.CfnAccessEntry.AccessScopeProperty(type="cluster"),
                    )
                ],
            )
