"""Given a registry, when the sweep runs, then each log record carries exactly the keys of the log
contract (docs/reference/log-records.md), in UTC whatever the host's time zone, and a record the log level hides
is not written."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from emulator.ecr import set_image_times
from emulator.seed import create_repository
from tests.integration.conftest import Invoke
from tests.integration.images import untagged

# What Powertools adds to every record, with the keys the function appends (`function_request_id`,
# `region`) and, in a worker, the repository being swept.
ENVELOPE = {"level", "location", "message", "timestamp", "service", "function_request_id", "region"}
VERDICT = {
    "record_type",
    "repository",
    "digest",
    "action",
    "reason",
    "pushed_at",
    "size_bytes",
    "media_type",
    "dry_run",
}


@pytest.fixture
def new_york() -> Iterator[None]:
    """The host's local time zone is not UTC (a laptop's, say): UTC-5 in January."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_deletion_record_has_exactly_the_contract_keys(ecr: Any, invoke: Invoke) -> None:
    # Given an expired digest, never pulled
    create_repository(ecr, "app", "1")
    digest = untagged(ecr, "app", "x", 5)

    # When the sweep deletes it
    run = invoke()

    # Then its one record holds the envelope and the verdict's keys, and nothing else (a key whose
    # value is null, such as last_pulled_at here, is left out by Powertools)
    [deleted] = run.records(record_type="verdict")
    assert set(deleted) == ENVELOPE | VERDICT
    assert deleted["level"] == "INFO"
    assert deleted["message"].startswith(f"deleted app@{digest}: expired: pushed 5d ago")
    assert (deleted["repository"], deleted["digest"], deleted["action"]) == ("app", digest, "deleted")
    [summary] = run.records(record_type="repository_summary")
    assert {"repository", "status", "retention", "images_deleted", "bytes_reclaimed", "preview"} <= set(summary)
    assert summary["message"] == "swept app"


def test_times_in_records_are_utc_whatever_the_host_time_zone(ecr: Any, invoke: Invoke, new_york: None) -> None:
    # Given an expired digest pushed and pulled at known instants, on a host whose zone is New York
    create_repository(ecr, "app", "1")
    digest = untagged(ecr, "app", "x", 5)
    pushed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    pulled = datetime(2026, 1, 3, 4, 5, 6, 500000, tzinfo=timezone.utc)
    set_image_times("app", digest, pushed_at=pushed, last_pulled_at=pulled)

    # When the sweep deletes it
    run = invoke()

    # Then its record names both instants in UTC, as on Lambda
    [deleted] = run.records(action="deleted")
    assert deleted["pushed_at"] == "2026-01-02T03:04:05+00:00"
    assert deleted["last_pulled_at"] == "2026-01-03T04:05:06.500000+00:00"


def test_a_kept_digest_has_a_record_only_when_debug_is_on(ecr: Any, invoke: Invoke) -> None:
    # Given a young digest and an expired one
    create_repository(ecr, "app", "7")
    young = untagged(ecr, "app", "young", 1)
    old = untagged(ecr, "app", "old", 30)

    # When the sweep runs at the default level (INFO), then only the deletion is written
    run = invoke()
    assert [r["digest"] for r in run.records(record_type="verdict")] == [old]

    # When it runs again at DEBUG, then the keep is written, with its reason and protection
    again = invoke(env={"POWERTOOLS_LOG_LEVEL": "DEBUG"})
    [kept] = again.records(record_type="verdict")
    assert (kept["digest"], kept["action"], kept["protection"], kept["level"]) == (young, "kept", "Age", "DEBUG")
    assert set(kept) == ENVELOPE | VERDICT | {"protection"}
