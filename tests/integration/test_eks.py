"""Kubernetes too: digests that EKS pods and workloads run are never deleted; a cluster that cannot be
read stops deletion in its region, unless the operator ignores it. Through the real lambda_handler,
against the corrected emulator and a Kubernetes API stand-in served over HTTPS on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from emulator.kubernetes import CertificateAuthority, KubernetesAPI, pod, serve_cluster, workload
from emulator.seed import create_repository, push
from tests.integration.conftest import Invoke
from tests.integration.images import digests

NOW = datetime.now(timezone.utc)
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DEBUG = {"POWERTOOLS_LOG_LEVEL": "DEBUG"}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def verdicts(run: Any) -> dict[str, tuple[str, str]]:
    return {r["digest"]: (r["action"], r["reason"]) for r in run.records(record_type="verdict")}


@pytest.fixture
def kube(ecr: Any) -> Iterator[KubernetesAPI]:
    with KubernetesAPI() as api:
        serve_cluster(api, "prod")
        yield api


def test_a_running_pod_keeps_the_digest_it_started_from_after_its_tag_moved(
    ecr: Any, invoke: Invoke, kube: KubernetesAPI
) -> None:
    # Given an EKS cluster prod, and a digest tagged prod that then lost the tag to a newer image
    create_repository(ecr, "web", "1")
    started = push(ecr, "web", "v1", tag="prod", pushed_at=ago(30))
    push(ecr, "web", "v2", tag="prod", pushed_at=ago(0.1))
    # And a pod started from the tag while it named the old digest
    # The pod names the tag; only its status holds the digest it was started from.
    kube.add(
        pod(
            "shop",
            "web-7d9f",
            [("web", f"{REGISTRY}/web:prod")],
            [("web", f"{REGISTRY}/web:prod", f"{REGISTRY}/web@{started}")],
        )
    )

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the old digest is kept as in use by the pod
    assert started in digests(ecr, "web")
    assert verdicts(run)[started] == ("kept", "in use by eks prod/shop/Pod/web-7d9f")
    assert run.metric("ProtectedByEks") == 1


def test_a_cronjob_pinned_by_digest_and_a_deployment_scaled_to_zero_keep_theirs(
    ecr: Any, invoke: Invoke, kube: KubernetesAPI
) -> None:
    # Given an EKS cluster prod, and three expired untagged digests
    create_repository(ecr, "jobs", "1")
    weekly = push(ecr, "jobs", "weekly", pushed_at=ago(30))
    idle = push(ecr, "jobs", "idle", pushed_at=ago(30))
    unused = push(ecr, "jobs", "unused", pushed_at=ago(30))
    # And a cronjob that names one by digest, and a deployment scaled to zero that names another by tag and digest
    kube.add(
        workload("CronJob", "batch", "weekly-report", [f"{REGISTRY}/jobs@{weekly}"]),
        workload("Deployment", "batch", "idle-api", [f"{REGISTRY}/jobs:1.0@{idle}"], replicas=0),
    )

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then both named digests are kept as in use by their workloads, and the third is deleted
    assert digests(ecr, "jobs") == {weekly, idle}, unused
    assert verdicts(run)[weekly] == ("kept", "in use by eks prod/batch/CronJob/weekly-report")
    assert verdicts(run)[idle] == ("kept", "in use by eks prod/batch/Deployment/idle-api")


def test_the_function_sends_the_eks_token_and_pages_every_list(ecr: Any, invoke: Invoke, kube: KubernetesAPI) -> None:
    # Given an EKS cluster prod, and a repository
    create_repository(ecr, "app", "1")

    # When the sweep runs
    invoke()

    # Then every request to the cluster carried a valid EKS token, a presigned GetCallerIdentity that signs the cluster
    # name
    assert kube.requests and all(request.auth_error == "" for request in kube.requests)
    token = kube.requests[0].headers["authorization"].removeprefix("Bearer ")
    assert token.startswith("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(token.removeprefix("k8s-aws-v1.") + "==").decode()
    query = parse_qs(urlparse(url).query)
    assert query["Action"] == ["GetCallerIdentity"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    # And it listed each kind of workload, 500 items a page
    paths = {request.path for request in kube.requests}
    assert paths == {
        "/api/v1/pods",
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/statefulsets",
        "/apis/apps/v1/daemonsets",
        "/apis/apps/v1/replicasets",
        "/apis/batch/v1/jobs",
        "/apis/batch/v1/cronjobs",
    }
    assert all(request.query.get("limit") == ["500"] for request in kube.requests)


def _fails_closed(ecr: Any, run: Any, old: str, cause: str, fix: str) -> None:
    assert digests(ecr, "app") == {old}
    assert run.error is not None
    [record] = run.records(record_type="in_use_scan_failed")
    assert record["source"] == "eks cluster prod"
    assert cause in record["cause"] and fix in record["fix"]
    assert "eksClustersIgnored=['prod']" in record["fix"]


def test_an_unreachable_cluster_fails_closed(ecr: Any, invoke: Invoke, kube: KubernetesAPI) -> None:
    # Given an EKS cluster prod that cannot be reached, and an expired untagged digest
    create_repository(ecr, "app", "1")
    old = push(ecr, "app", "old", pushed_at=ago(30))
    kube.stop()

    # When the sweep runs
    run = invoke()

    # Then the digest is kept and the run fails, saying the cluster cannot be reached and how to reach it or ignore it
    _fails_closed(ecr, run, old, "cannot be reached", "vpcSubnetIds")


def test_a_cluster_that_refuses_the_role_fails_closed(ecr: Any, invoke: Invoke, kube: KubernetesAPI) -> None:
    # Given an EKS cluster prod that forbids the function's role, and an expired untagged digest
    create_repository(ecr, "app", "1")
    old = push(ecr, "app", "old", pushed_at=ago(30))
    kube.forbid()

    # When the sweep runs
    run = invoke()

    # Then the digest is kept and the run fails on the 403, saying how to give the role an access entry or ignore the
    # cluster
    _fails_closed(ecr, run, old, "403", "eksClusters=['prod'] creates an access entry")


def test_a_certificate_from_another_ca_fails_closed(ecr: Any, invoke: Invoke, kube: KubernetesAPI) -> None:
    # Given an EKS cluster prod, and an expired untagged digest
    create_repository(ecr, "app", "1")
    old = push(ecr, "app", "old", pushed_at=ago(30))
    # And DescribeCluster names a CA that did not sign the server's certificate
    # DescribeCluster now names a CA that did not sign the server's certificate.
    cluster = serve_cluster(kube, "prod")
    cluster.certificate_authority = {"data": base64.b64encode(CertificateAuthority().pem).decode()}

    # When the sweep runs
    run = invoke()

    # Then the digest is kept and the run fails on TLS verification, saying how to ignore the cluster
    _fails_closed(ecr, run, old, "TLS verification", "")


def test_an_ignored_cluster_is_not_read_and_each_run_warns(ecr: Any, invoke: Invoke, kube: KubernetesAPI) -> None:
    # Given an EKS cluster prod that cannot be reached, and an expired untagged digest
    create_repository(ecr, "app", "1")
    push(ecr, "app", "old", pushed_at=ago(30))
    kube.stop()

    # When the sweep runs with the cluster ignored
    run = invoke(env={"EKS_CLUSTERS_IGNORED": "prod"})

    # Then the digest is deleted, and the run warns that the cluster was ignored
    assert run.error is None and digests(ecr, "app") == set()
    [warning] = run.records(record_type="eks_cluster_ignored")
    assert warning["level"] == "WARNING" and warning["cluster"] == "prod"
