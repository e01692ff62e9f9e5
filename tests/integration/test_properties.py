"""Property: on any registry, the sweep deletes exactly the expired untagged digests that no rule protects.

The oracle below is written from the rules in README.md ("What ecr-sweeper will never delete"),
independently of planner.py, and checked against what the real handler leaves in the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.emulator.ecr import faults
from tests.emulator.identity import OWN, sweeper_credentials
from tests.emulator.seed import create_repository, push, push_index, push_referrer
from tests.output import invoke_captured

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
AGES = st.sampled_from([0.2, 2.0, 5.0, 12.0, 60.0])


@dataclass
class Node:
    kind: str  # "image", "index" or "referrer"
    age: float
    pulled: float | None
    tagged: bool
    in_use: bool
    links: tuple[int, ...] = ()  # index: children; referrer: (subject,) or () for an orphan


@st.composite
def registries(draw: st.DrawFn) -> tuple[int, list[Node]]:
    nodes: list[Node] = []

    def common() -> dict[str, Any]:
        return {
            "age": draw(AGES),
            "pulled": draw(st.none() | AGES),
            "tagged": draw(st.integers(0, 4)) == 0,
            "in_use": draw(st.integers(0, 9)) == 0,
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
    """The rules, as README.md states them, as a fixpoint over the nodes."""

    def fresh(node: Node) -> bool:
        if retention == 0:
            return False
        return node.age < retention or (node.pulled is not None and node.pulled < retention)

    keep = {n for n, node in enumerate(nodes) if node.tagged or node.in_use}
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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(registries())
def test_the_sweep_deletes_exactly_the_unprotected_expired_digests(registry: tuple[int, list[Node]]) -> None:
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
        ecs = boto3.client("ecs", **OWN)
        for n, node in enumerate(nodes):
            if node.in_use:
                ecs.register_task_definition(
                    family=f"uses-{n}",
                    containerDefinitions=[{"name": "c", "image": f"{REGISTRY}/prop@{digests[n]}", "memory": 64}],
                )

        run = invoke_captured(None, None)

        left = {d["imageDigest"] for d in ecr.describe_images(repositoryName="prop", maxResults=1000)["imageDetails"]}
    assert run.error is None, run.error
    survivors = {digests[n] for n in expected_survivors(retention, nodes)}
    assert survivors <= left, "a protected digest is gone"
    assert left <= survivors, "an unprotected expired digest is still there"
