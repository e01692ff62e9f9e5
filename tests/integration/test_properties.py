"""Property: on any registry, the sweep deletes exactly the expired untagged digests that no rule protects.

The oracle below is written from the rules in docs/reference/never-deleted.md ("What ecr-sweeper will never delete"),
independently of planner.py, and checked against what the real handler leaves in the emulator.
Each example seeds a registry and workloads through the API and runs the whole handler, so this
runs a handful: the pure planner's property (tests/unit/test_planner_properties.py) carries the
breadth, and this one checks end to end that the handler feeds the planner what the registry and
the workloads hold (reference forms, archived images, re-checks) and does what it plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from emulator.ecr import faults
from emulator.identity import OWN, sweeper_credentials
from emulator.seed import create_repository, push, push_index, push_referrer
from tests.output import invoke_captured

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
AGES = st.sampled_from([0.2, 2.0, 5.0, 12.0, 60.0])
# Every reference form of the grammar (docs/reference/never-deleted.md), including a
# repository other than the one that holds the digest.
FORMS = (
    "{registry}/prop@{digest}",
    "{registry}/prop:t1@{digest}",
    "123456789012.dkr-ecr.us-east-1.on.aws/prop@{digest}",
    "123456789012.dkr-ecr-fips.us-east-1.on.aws/prop:x@{digest}",
    "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/prop@{digest}",
    "{registry}/team/elsewhere@{digest}",
)
FAMILIES = ("ecs", "batch", "sagemaker", "apprunner")
# App Runner's ImageIdentifier pattern (botocore model) admits only the IPv4 registry host.
ALLOWED = {family: FORMS for family in FAMILIES} | {"apprunner": tuple(f for f in FORMS if f.startswith("{registry}"))}


@dataclass
class Node:
    kind: str  # "image", "index" or "referrer"
    age: float
    pulled: float | None
    tagged: bool
    # (family, reference form) of a workload that names this digest, or None.
    in_use: tuple[str, str] | None
    archived: bool
    links: tuple[int, ...] = ()  # index: children; referrer: (subject,) or () for an orphan


@st.composite
def registries(draw: st.DrawFn) -> tuple[int, list[Node]]:
    nodes: list[Node] = []

    def in_use() -> tuple[str, str] | None:
        if draw(st.integers(0, 9)) != 0:
            return None
        family = draw(st.sampled_from(FAMILIES))
        return family, draw(st.sampled_from(ALLOWED[family]))

    def common() -> dict[str, Any]:
        return {
            "age": draw(AGES),
            "pulled": draw(st.none() | AGES),
            "tagged": draw(st.integers(0, 4)) == 0,
            "in_use": in_use(),
            "archived": draw(st.integers(0, 7)) == 0,
        }

    for _ in range(draw(st.integers(1, 6))):
        nodes.append(Node("image", **common()))
    for _ in range(draw(st.integers(0, 3))):
        children = draw(st.lists(st.integers(0, len(nodes) - 1), min_size=1, max_size=3, unique=True))
        nodes.append(Node("index", links=tuple(children), **common()))
    for _ in range(draw(st.integers(0, 3))):
        subject = draw(st.none() | st.integers(0, len(nodes) - 1))
        nodes.append(Node("referrer", links=() if subject is None else (subject,), **{**common(), "tagged": False}))
    return draw(st.sampled_from([0, 1, 3, 7])), nodes


def expected_survivors(retention: int, nodes: list[Node]) -> set[int]:
    """The rules, as docs/reference/never-deleted.md states them, as a fixpoint over the nodes."""

    def fresh(node: Node) -> bool:
        if retention == 0:
            return False
        return node.age < retention or (node.pulled is not None and node.pulled < retention)

    # Tagged, in use or archived: never deleted, and each protects what it lists and its referrers.
    keep = {n for n, node in enumerate(nodes) if node.tagged or node.in_use or node.archived}
    # A referrer whose subject exists follows its subject; everything else is judged on its own age.
    keep |= {n for n, node in enumerate(nodes) if fresh(node) and not (node.kind == "referrer" and node.links)}
    changed = True
    while changed:
        changed = False
        for n, node in enumerate(nodes):
            if n in keep:
                continue
            kept_parent_index = any(
                p in keep and n in other.links for p, other in enumerate(nodes) if other.kind == "index"
            )
            kept_subject = node.kind == "referrer" and bool(node.links) and node.links[0] in keep
            if kept_parent_index or kept_subject:
                keep.add(n)
                changed = True
    return keep


def use(family: str, name: str, reference: str) -> None:
    """A workload of `family` that names `reference`."""
    if family == "ecs":
        boto3.client("ecs", **OWN).register_task_definition(
            family=name, containerDefinitions=[{"name": "c", "image": reference, "memory": 64}]
        )
    elif family == "batch":
        boto3.client("batch", **OWN).register_job_definition(
            jobDefinitionName=name, type="container", containerProperties={"image": reference, "vcpus": 1, "memory": 64}
        )
    elif family == "sagemaker":
        boto3.client("sagemaker", **OWN).create_model(
            ModelName=name, PrimaryContainer={"Image": reference}, ExecutionRoleArn="arn:aws:iam::123456789012:role/m"
        )
    else:
        source = {"ImageRepository": {"ImageIdentifier": reference, "ImageRepositoryType": "ECR"}}
        boto3.client("apprunner", **OWN).create_service(ServiceName=name, SourceConfiguration=source)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(registries())
def test_the_sweep_deletes_exactly_the_unprotected_expired_digests(registry: tuple[int, list[Node]]) -> None:
    # Given a registry of images, indexes and referrers of any age, pull time, tags, use and archive, and a retention
    retention, nodes = registry
    now = datetime.now(timezone.utc)
    faults.reset()
    with mock_aws(), sweeper_credentials():
        ecr = boto3.client("ecr", **OWN)
        create_repository(ecr, "prop", str(retention))
        digests: list[str] = []
        for n, node in enumerate(nodes):
            times = {
                "pushed_at": now - timedelta(days=node.age),
                "last_pulled_at": None if node.pulled is None else now - timedelta(days=node.pulled),
            }
            tag = f"t{n}" if node.tagged else None
            if node.kind == "image":
                digests.append(push(ecr, "prop", f"image-{n}", tag=tag, **times))
            elif node.kind == "index":
                digests.append(push_index(ecr, "prop", [digests[c] for c in node.links], tag=tag, salt=str(n), **times))
            else:
                subject = digests[node.links[0]] if node.links else "sha256:" + f"{n:x}" * 64
                digests.append(push_referrer(ecr, "prop", subject[:71], salt=str(n), **times))
        for n, node in enumerate(nodes):
            if node.archived:
                ecr.update_image_storage_class(
                    repositoryName="prop", imageId={"imageDigest": digests[n]}, targetStorageClass="ARCHIVE"
                )
            if node.in_use:
                family, form = node.in_use
                use(family, f"uses-{n}", form.format(registry=REGISTRY, digest=digests[n]))

        # When the handler sweeps it
        run = invoke_captured(None, None)

        # And what is left in the repository is listed
        listing = ecr.describe_images(repositoryName="prop", maxResults=1000, filter={"imageStatus": "ANY"})
        left = {d["imageDigest"] for d in listing["imageDetails"]}

    # Then the run succeeded
    assert run.error is None, run.error
    # And every digest the rules protect is left, and nothing else is
    survivors = {digests[n] for n in expected_survivors(retention, nodes)}
    assert survivors <= left, "a protected digest is gone"
    assert left <= survivors, "an unprotected expired digest is still there"
