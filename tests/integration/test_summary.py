"""Given a registry, when the sweep runs, then it returns a small JSON summary, emits its metrics
once in the configured namespace and units, and logs one summary record per repository with the
keys the audit queries read (service, pushed_at)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ecr_sweeper.core.metrics import METRICS
from emulator.ecr import set_image_times
from emulator.seed import create_repository
from tests.integration.conftest import Invoke
from tests.integration.images import SIZE, untagged


def test_the_return_value_is_a_small_json_summary(ecr: Any, invoke: Invoke) -> None:
    # Given a swept repository with one expired digest and a repository tagged keep
    create_repository(ecr, "app", "1")
    create_repository(ecr, "kept", "keep")
    untagged(ecr, "app", "x", 5)

    # When the sweep runs
    run = invoke()

    # Then the return value is JSON of totals and one status per repository, and names no digest
    summary = json.loads(json.dumps(run.result))
    assert summary["dryRun"] is False
    assert summary["repositoriesScanned"] == 2
    assert summary["imagesDeleted"] == 1
    assert summary["bytesReclaimed"] == SIZE
    assert {r["repository"]: r["status"] for r in summary["repositories"]} == {"app": "swept", "kept": "skipped"}
    assert all("digest" not in json.dumps(r) for r in summary["repositories"])
    [app] = run.records(record_type="repository_summary", repository="app")
    assert app["images_deleted"] == 1 and app["status"] == "swept"


def test_metrics_use_the_configured_namespace_and_units(ecr: Any, invoke: Invoke) -> None:
    # Given one empty repository
    create_repository(ecr, "app", "1")

    # When the sweep runs with a custom metrics namespace
    run = invoke(env={"POWERTOOLS_METRICS_NAMESPACE": "Platform/Sweeper"})

    # Then every metric is in that namespace with its unit and its value, flushed once
    definition = run.emitted.metric_definition("BytesReclaimed")
    assert definition["Namespace"] == "Platform/Sweeper"
    assert definition["Unit"] == "Bytes"
    # every metric of the contract, zeros included, so that alarms never see a gap
    # (the in-use scan of an account without workloads still lists each source once: Lambda, ECS
    # clusters and task definitions, Batch, App Runner, SageMaker, EKS and Inspector)
    expected = {name: 0 for name in METRICS} | {"RepositoriesScanned": 1, "InUseScanCalls": 8}
    assert {"RepositoriesScanned", "ImagesDeleted", "RepositoriesDeferred", "RepositoriesStarved"} <= set(expected)
    for name, value in expected.items():
        unit = "Bytes" if name == "BytesReclaimed" else "Count"
        assert run.emitted.metric_definition(name) == {"Namespace": "Platform/Sweeper", "Name": name, "Unit": unit}
        assert run.metric(name) == value, name
    assert len(run.emitted.metric_blobs) == 1, "flushed once per invocation"


def test_pushed_at_is_logged_for_every_deletion(ecr: Any, invoke: Invoke) -> None:
    # Given an expired digest pushed at a known second
    create_repository(ecr, "app", "1")
    digest = untagged(ecr, "app", "x", 5)
    set_image_times("app", digest, pushed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))

    # When the sweep deletes it
    run = invoke()

    # Then its record carries that push time
    [deleted] = run.records(action="deleted")
    assert deleted["pushed_at"] == "2026-01-02T03:04:05+00:00"


def test_every_repository_gets_one_summary_record_and_logs_carry_the_service(ecr: Any, invoke: Invoke) -> None:
    # Given a swept, a kept, an invalid and an untagged repository
    for name, tag in (("swept", "1"), ("kept", "keep"), ("bad", "x"), ("plain", None)):
        create_repository(ecr, name, tag)

    # When the sweep runs
    run = invoke()

    # Then each gets one summary record, and every record names the service
    summaries = run.records(record_type="repository_summary")
    assert sorted(r["repository"] for r in summaries) == ["bad", "kept", "plain", "swept"]
    assert {r["service"] for r in run.emitted.logs} == {"ecr-sweeper"}


def test_service_name_comes_from_the_environment(ecr: Any, invoke: Invoke) -> None:
    # Given one repository
    create_repository(ecr, "app", "1")

    # When the sweep runs with a custom service name
    run = invoke(env={"POWERTOOLS_SERVICE_NAME": "registry-janitor"})

    # Then the log records and the metrics carry it
    assert {r["service"] for r in run.emitted.logs} == {"registry-janitor"}
    assert run.emitted.metric_blobs[0]["service"] == "registry-janitor"
