"""Property: given any repository and retention, when the pure planner plans, then it deletes exactly
the expired untagged digests that no rule protects, says why it keeps each other one, and orders its
deletions so that ECR never refuses one for a parent or a subject still present.

The oracle below is written from docs/reference/never-deleted.md, "What ecr-sweeper will never delete", independently of
planner.py. This property carries the breadth (hundreds of registries a second); the one against
the real handler and the emulator (tests/integration/test_properties.py) checks that the same rules
hold end to end on a few.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_sweeper.core.model import IN_USE_FAMILIES, Action, Image, Protection, Use, Verdict
from ecr_sweeper.core.planner import plan
from ecr_sweeper.core.policy import Retention


def _deletes(verdict: Verdict) -> bool:
    return verdict.action is Action.WOULD_DELETE


NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
RETENTIONS = st.sampled_from([0, 1, 3, 7, 30])
# Ages in hours, around the retention: well inside, an hour inside, at the boundary, an hour past it,
# long past it. About as many fresh as expired, whatever the retention.
AGE_OFFSETS = st.sampled_from([-100, -25, -1, 0, 1, 25, 1000])


@dataclass(frozen=True)
class Node:
    kind: str  # "image", "index" or "referrer"
    pushed: int  # hours ago
    pulled: int | None  # hours ago, or never pulled
    tagged: bool
    in_use: bool
    # ARCHIVED or ACTIVATING (being restored), or None when ACTIVE.
    archived: str | None
    # An archived index whose manifest ECR does not serve: what it lists is unknown to the sweep.
    unread: bool
    # index: the earlier nodes it lists; referrer: (its subject,), or () when the subject is not in
    # the repository (an orphan). Only earlier nodes: digests are content hashes, so no cycles.
    links: tuple[int, ...] = ()


@dataclass(frozen=True)
class Repository:
    retention: int
    nodes: tuple[Node, ...]
    # The order DescribeImages lists the nodes in.
    listing: tuple[int, ...]


@st.composite
def repositories(draw: st.DrawFn) -> Repository:
    retention = draw(RETENTIONS)

    def age() -> int:
        return max(0, retention * 24 + draw(AGE_OFFSETS))

    nodes: list[Node] = []
    for n in range(draw(st.integers(1, 12))):
        kind = "image" if n == 0 else draw(st.sampled_from(["image", "index", "referrer", "referrer"]))
        if kind == "index":
            links = tuple(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3, unique=True)))
        elif kind == "referrer":
            subject = draw(st.none() | st.integers(0, n - 1))
            links = () if subject is None else (subject,)
        else:
            links = ()
        # Archived indexes more often than other archived images: their unread manifests are what
        # makes a deletion doubtful (a caveat) and reverses a referrer's order.
        archived = draw(st.sampled_from([None] * (4 if kind == "index" else 10) + ["ARCHIVED", "ACTIVATING"]))
        nodes.append(
            Node(
                kind=kind,
                pushed=age(),
                pulled=None if draw(st.booleans()) else age(),
                tagged=draw(st.integers(0, 5)) == 0,
                in_use=draw(st.integers(0, 9)) == 0,
                archived=archived,
                unread=kind == "index" and archived is not None and draw(st.booleans()),
                links=links,
            )
        )
    listing = tuple(draw(st.permutations(range(len(nodes)))))
    return Repository(retention, tuple(nodes), listing)


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def orphan_subject(n: int) -> str:
    """The digest an orphan referrer names: never one in the repository."""
    return f"sha256:{'f' * 60}{n:04x}"


def subject_of(node: Node) -> int | None:
    return node.links[0] if node.kind == "referrer" and node.links else None


def known_children(node: Node) -> tuple[int, ...]:
    return node.links if node.kind == "index" and not node.unread else ()


def planner_input(repository: Repository) -> dict[str, Any]:
    images = []
    for n in repository.listing:
        node = repository.nodes[n]
        subject = None
        if node.kind == "referrer":
            subject = orphan_subject(n) if subject_of(node) is None else digest(node.links[0])
        images.append(
            Image(
                digest=digest(n),
                tags=(f"t{n}",) if node.tagged else (),
                pushed_at=NOW - timedelta(hours=node.pushed),
                size_bytes=1_000 + n,
                last_pulled_at=None if node.pulled is None else NOW - timedelta(hours=node.pulled),
                media_type={"index": OCI_INDEX}.get(node.kind, DOCKER_MANIFEST),
                artifact_media_type=COSIGN_SIGNATURE if node.kind == "referrer" else None,
                subject_digest=subject,
                status=node.archived or "ACTIVE",
            )
        )
    return {
        "images": images,
        "retention": Retention(repository.retention),
        "now": NOW,
        # What the sweep read from each index's manifest; nothing for an unreadable archived one.
        "children": {
            digest(n): [digest(c) for c in node.links]
            for n, node in enumerate(repository.nodes)
            if node.kind == "index" and not node.unread
        },
        "in_use": {
            digest(n): (Use(Protection.ECS, f"arn:aws:ecs:us-east-1:123456789012:task-definition/uses-{n}:1"),)
            for n, node in enumerate(repository.nodes)
            if node.in_use
        },
        "inspector": None,
    }


def fresh(node: Node, retention: int) -> bool:
    """Younger than the retention, or pulled within it ("within": strictly less, as the unit tests of
    the boundary in tests/unit/test_planner.py pin it). Retention 0 expires every untagged digest."""
    if retention == 0:
        return False
    window = retention * 24
    return node.pushed < window or (node.pulled is not None and node.pulled < window)


def survivors(repository: Repository) -> set[int]:
    """The rules, as docs/reference/never-deleted.md states them, as a fixpoint over the nodes."""
    nodes, retention = repository.nodes, repository.retention
    # A tagged image is never judged; neither is an archived one; a digest in use is kept.
    keep = {n for n, node in enumerate(nodes) if node.tagged or node.archived or node.in_use}
    # Young or recently pulled: kept; except a referrer whose subject is present, which follows it.
    keep |= {n for n, node in enumerate(nodes) if fresh(node, retention) and subject_of(node) is None}
    # What is kept protects what it lists (as far as its manifest could be read) and its referrers.
    changed = True
    while changed:
        changed = False
        for n, node in enumerate(nodes):
            if n in keep:
                continue
            listed_by_kept = any(p in keep and n in known_children(parent) for p, parent in enumerate(nodes))
            if listed_by_kept or subject_of(node) in keep:
                keep.add(n)
                changed = True
    return keep


def candidates(repository: Repository) -> list[int]:
    """Judged, in listing order: untagged and not archived."""
    return [n for n in repository.listing if not repository.nodes[n].tagged and not repository.nodes[n].archived]


@settings(max_examples=300, deadline=None)
@given(repositories())
def test_the_plan_deletes_exactly_the_unprotected_expired_digests(repository: Repository) -> None:
    # Given a repository of images, indexes and referrers, tagged, archived or in use at random
    nodes = repository.nodes
    keep = survivors(repository)

    # When the planner plans it
    result = plan(**planner_input(repository))

    # Then every candidate gets exactly one verdict, in listing order, and the oracle's deletions
    by_digest = {verdict.image.digest: verdict for verdict in result.verdicts}
    assert [verdict.image.digest for verdict in result.verdicts] == [digest(n) for n in candidates(repository)]
    deleted = {n for n in candidates(repository) if _deletes(by_digest[digest(n)])}
    assert deleted == set(candidates(repository)) - keep
    # and each kept verdict names a rule that really protects it
    for n in set(candidates(repository)) - deleted:
        verdict, node = by_digest[digest(n)], nodes[n]
        if verdict.protection in IN_USE_FAMILIES:
            assert node.in_use and verdict.reason.startswith("in use by "), verdict
        elif verdict.protection in (Protection.AGE, Protection.PULL):
            assert fresh(node, repository.retention) and subject_of(node) is None, verdict
        elif verdict.protection is Protection.INDEX:
            parent = verdict.reason.removeprefix("child of kept index ")
            assert any(digest(p) == parent and n in known_children(nodes[p]) for p in keep), verdict
        elif verdict.protection is Protection.REFERRER:
            assert subject_of(node) in keep and verdict.reason == f"referrer of kept image {digest(node.links[0])}"
        else:
            raise AssertionError(f"kept for no rule: {verdict}")


@settings(max_examples=300, deadline=None)
@given(repositories())
def test_the_waves_put_an_index_before_its_children_and_a_referrer_before_its_subject(
    repository: Repository,
) -> None:
    # Given a repository of images, indexes and referrers, tagged, archived or in use at random
    nodes = repository.nodes
    unread = {digest(n) for n, node in enumerate(nodes) if node.unread}

    # When the planner plans it
    result = plan(**planner_input(repository))

    # Then each deletion is in exactly one wave
    deleted = {verdict.image.digest: verdict for verdict in result.verdicts if _deletes(verdict)}
    planned = [verdict.image.digest for verdict in result.deletions]
    assert sorted(planned) == sorted(deleted)
    wave = {verdict.image.digest: w for w, verdicts in enumerate(result.waves) for verdict in verdicts}
    assert all(result.waves), "no empty wave"
    # and an index goes before the children it lists
    for n, node in enumerate(nodes):
        for child in known_children(node):
            if digest(n) in deleted and digest(child) in deleted:
                assert wave[digest(n)] < wave[digest(child)], (n, child)
    # and a referrer goes with its subject, first; after it when an unreadable archived index may
    # make ECR refuse the subject (the deletion then carries a caveat)
    for n, node in enumerate(nodes):
        subject = subject_of(node)
        if subject is None or digest(n) not in deleted or digest(subject) not in deleted:
            continue
        if deleted[digest(subject)].caveat is None:
            assert wave[digest(n)] < wave[digest(subject)], (n, subject)
        else:
            assert wave[digest(subject)] < wave[digest(n)], (n, subject)
    # and the caveat is on every deletion exactly when an archived index could not be read
    assert set(result.unread_indexes) == unread
    assert all((verdict.caveat is not None) == bool(unread) for verdict in deleted.values())
    assert all(verdict.caveat is None for verdict in result.verdicts if not _deletes(verdict))
    # and an orphan referrer about to be deleted has its missing subject asked for once more
    assert dict(result.absent_subjects) == {
        digest(n): orphan_subject(n)
        for n, node in enumerate(nodes)
        if node.kind == "referrer" and subject_of(node) is None and digest(n) in deleted
    }
