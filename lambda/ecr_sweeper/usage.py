"""Which ECR digests the account's Lambda functions and ECS tasks run (AWS calls, no decisions).

ECS resolves a tag to a digest per deployment and Lambda per code update, so an older untagged
digest can still be what a scale-out or a cold start pulls (aws/amazon-ecs-agent#4226,
aws-actions/aws-lambda-deploy#68). If any of this cannot be read, the sweep deletes nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ecr_sweeper.model import RepositoryUsage

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[@sha256:<hex>|:<tag>]
_ECR_IMAGE = re.compile(
    r"\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?:@(?P<digest>sha256:[0-9a-f]{64})|:(?P<tag>[\w][\w.-]{0,127}))?"
)
# ECS ListTasks filters by desired status: a pending task is on its way to RUNNING.
ECS_TASK_STATUSES = ("RUNNING", "PENDING")
DESCRIBE_TASKS_SIZE = 100


class UsageScanFailed(RuntimeError):
    """Lambda or ECS could not be read completely; no digest may be deleted on a partial picture."""


@dataclass(frozen=True)
class ImageRef:
    repository: str
    digest: str | None = None
    tag: str | None = None


def parse_image(uri: str) -> ImageRef | None:
    """An ECR image URI (by digest, by tag, or bare meaning `latest`); None for other registries."""
    match = _ECR_IMAGE.fullmatch(uri.strip())
    if match is None:
        return None
    if match["digest"] is None and match["tag"] is None:
        return ImageRef(match["repository"], tag="latest")
    return ImageRef(match["repository"], match["digest"], match["tag"])


@dataclass
class InUse:
    """Everything found in use, by repository; read-only once the scan is done."""

    digests: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    tags: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))

    def add(self, ref: ImageRef, user: str) -> None:
        if ref.digest:
            self.digests[ref.repository][ref.digest].append(user)
        if ref.tag:
            self.tags[ref.repository][ref.tag].append(user)

    def add_uri(self, uri: str | None, user: str) -> None:
        ref = parse_image(uri or "")
        if ref is not None:
            self.add(ref, user)

    def for_repository(self, name: str) -> RepositoryUsage:
        return RepositoryUsage(
            digests={d: tuple(users) for d, users in self.digests.get(name, {}).items()},
            tags={t: tuple(users) for t, users in self.tags.get(name, {}).items()},
        )

    @property
    def count(self) -> int:
        return sum(len(d) for d in self.digests.values())


def scan(lambda_client: Any, ecs_client: Any) -> InUse:
    """Read every image-based Lambda version and every ECS task and ACTIVE task definition."""
    in_use = InUse()
    try:
        _scan_lambda(lambda_client, in_use)
        _scan_ecs(ecs_client, in_use)
    except Exception as error:  # any gap in the picture makes deletion unsafe
        raise UsageScanFailed(f"{type(error).__name__}: {error}") from error
    return in_use


def _scan_lambda(client: Any, in_use: InUse) -> None:
    for function in _pages(client, "list_functions", "Functions", FunctionVersion="ALL"):
        if function.get("PackageType") != "Image":
            continue
        arn = function["FunctionArn"]
        code = client.get_function(FunctionName=function["FunctionName"], Qualifier=function["Version"])["Code"]
        user = f"lambda {arn}"
        in_use.add_uri(code.get("ImageUri"), user)
        # The digest the tag resolved to when the code was set: what a cold start pulls.
        in_use.add_uri(code.get("ResolvedImageUri"), user)


def _scan_ecs(client: Any, in_use: InUse) -> None:
    for cluster in _pages(client, "list_clusters", "clusterArns"):
        task_arns = [
            arn
            for status in ECS_TASK_STATUSES
            for arn in _pages(client, "list_tasks", "taskArns", cluster=cluster, desiredStatus=status)
        ]
        for start in range(0, len(task_arns), DESCRIBE_TASKS_SIZE):
            batch = task_arns[start : start + DESCRIBE_TASKS_SIZE]
            response = client.describe_tasks(cluster=cluster, tasks=batch)
            if response.get("failures"):
                raise UsageScanFailed(f"DescribeTasks failures in {cluster}: {response['failures']}")
            for task in response.get("tasks", []):
                for container in task.get("containers", []):
                    ref = parse_image(container.get("image") or "")
                    if ref is None:
                        continue
                    user = f"ecs {task['taskArn']}"
                    in_use.add(ref, user)
                    if container.get("imageDigest"):
                        in_use.add(ImageRef(ref.repository, digest=container["imageDigest"]), user)
    for arn in _pages(client, "list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        definition = client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        for container in definition.get("containerDefinitions", []):
            ref = parse_image(container.get("image") or "")
            if ref is not None and ref.digest:
                in_use.add(ImageRef(ref.repository, digest=ref.digest), f"ecs {arn}")


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])
