"""The AWS actions the code calls, and when: the one inventory that the stack grants from
(infra/role.py, infra/reader.py) and that the tests hold against the calls the code really makes
(every integration test records its clients' calls: tests/integration/conftest.py).

Each action is an IAM action (`service:Operation`), as the Service Authorization Reference names it.
Where the resource an action is granted on matters, infra/role.py says which, and a test checks it
against the Service Authorization Reference's data (tests/infrastructure/test_authorization.py).
"""

from __future__ import annotations

# The sweep itself (registry.py), in every configuration.
ECR = (
    "ecr:DescribeRepositories",
    "ecr:ListTagsForResource",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:BatchDeleteImage",
)
# State between runs (cursor.py): the rotation cursors and the first run, in SSM parameters that
# the function creates and rewrites; the parameters of earlier versions are only read.
STATE = ("ssm:GetParameter", "ssm:PutParameter")
# The in-use scan (in_use.py), of this account and, through the reader role, of a consumer account.
IN_USE_SCAN = (
    "lambda:ListFunctions",
    "lambda:GetFunction",
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:DescribeServices",
    "ecs:DescribeServiceRevisions",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:ListTaskDefinitions",
    "ecs:DescribeTaskDefinition",
    "batch:DescribeJobDefinitions",
    "apprunner:ListServices",
    "apprunner:DescribeService",
    "sagemaker:ListModels",
    "sagemaker:DescribeModel",
    "sagemaker:DescribeModelPackage",
    "eks:ListClusters",
    "eks:DescribeCluster",
    "inspector2:ListCoverage",
)
# The in-use cache (in_use_cache.py): its objects only, with the function's own role.
IN_USE_CACHE = ("s3:GetObject", "s3:PutObject")
# Central registries: each consumer account's reader role is assumed (clients.py); with
# consumerAccounts=organization the accounts are listed first (in_use.py).
CONSUMERS = ("sts:AssumeRole",)
ORGANIZATION = ("organizations:ListAccounts",)
# The Step Functions engine's steps (cursor.WorkBucket): the batch list and the Map's results.
WORK_BUCKET = ("s3:GetObject", "s3:PutObject")
# Only the command line calls these: it asks whether its own principal is a pull-time update
# exclusion. The function never does (its role is the exclusion the stack registers).
COMMAND_LINE_ONLY = ("ecr:ListPullTimeUpdateExclusions",)
# Calls that no policy can allow or deny: "No permissions are required to perform this operation"
# (STS API reference, GetCallerIdentity).
NO_PERMISSION_NEEDED = ("sts:GetCallerIdentity",)


def function_actions(
    *, protect_in_use: bool, consumers: bool, organization: bool, stepfunctions: bool
) -> frozenset[str]:
    """Every action the function's code may call in this configuration: what its role needs."""
    actions = {*ECR, *STATE}
    if protect_in_use:
        actions |= {*IN_USE_SCAN, *IN_USE_CACHE}
        if consumers or organization:
            actions |= set(CONSUMERS)
        if organization:
            actions |= set(ORGANIZATION)
    if stepfunctions:
        actions |= set(WORK_BUCKET)
    return frozenset(actions)


def reader_actions() -> frozenset[str]:
    """What the reader role of a consumer account needs: the in-use scan's reads, nothing else."""
    return frozenset(IN_USE_SCAN)
