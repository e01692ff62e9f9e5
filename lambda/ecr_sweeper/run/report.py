"""The one renderer of a sweep's values: a structured record per verdict and per event, and the
EMF metrics, so that every deletion, and every keep, can be explained later.

Reporter turns what the sweep hands its Listener into records; LogReporter writes them with the
Powertools logger (the function), and the command-line tool keeps them for its JSON output.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from ecr_sweeper.core.errors import describe_error
from ecr_sweeper.core.model import Verdict
from ecr_sweeper.core.outcome import (
    InUseReport,
    RepositoryResult,
    SweepSummary,
)
from ecr_sweeper.core.preview import Preview
from ecr_sweeper.run.records import Record, in_use_records, repository_records, snake


@dataclass
class Reporter:
    """A Listener that renders every value into records and hands them to `write`. Holds no
    per-run state of its own beyond what it is given, so it is safe to share across threads."""

    dry_run: bool
    preview: Preview | None = None

    def write(self, record: Record) -> None:
        raise NotImplementedError

    def writes(self, level: int) -> bool:
        """Whether a record of this level is written at all."""
        return True

    def in_use(self, report: InUseReport) -> None:
        for record in in_use_records(report):
            self.write(record)

    def selected(self, repositories: int) -> None:
        return None

    def repository_started(self, repository: str) -> None:
        return None

    def verdict(self, repository: str, verdict: Verdict) -> None:
        # The function writes a repository's records when it is done, in order.
        return None

    def repository_done(self, result: RepositoryResult) -> None:
        for record in repository_records(result, dry_run=self.dry_run, preview=self.preview, wanted=self.writes):
            self.write(record)

    def deadline(self, not_started: int, next_start: str) -> None:
        self.write(
            Record(
                logging.WARNING,
                f"deadline: {not_started} repositories not started; the next run starts at {next_start}",
                {"record_type": "deadline", "repositories_not_started": not_started, "next_start": next_start},
            )
        )

    def cursor_error(self, action: str, error: BaseException) -> None:
        self.write(
            Record(
                logging.WARNING,
                f"could not {action} where the sweep starts ({describe_error(error)}); starting at the first "
                "repository",
                {"record_type": "cursor_error", "error": describe_error(error)},
            )
        )

    def in_use_cache_error(self, action: str, error: BaseException) -> None:
        consequence = (
            "this run describes every task definition revision and function version again (a full scan)"
            if action == "read"
            else "the next run describes again what this one read"
        )
        self.write(
            Record(
                logging.WARNING,
                f"could not {action} the in-use cache ({describe_error(error)}): {consequence}",
                {"record_type": "in_use_cache_error", "action": action, "error": describe_error(error)},
            )
        )

    def in_use_picture_unusable(self, why: str) -> None:
        self.write(
            Record(
                logging.WARNING,
                f"the execution's in-use picture cannot be used ({why}): this batch scans for itself",
                {"record_type": "in_use_picture_unusable", "reason": why},
            )
        )

    def starved(self, repositories: list[str]) -> None:
        shown = ", ".join(repositories[:20]) + (f" and {len(repositories) - 20} more" if len(repositories) > 20 else "")
        self.write(
            Record(
                logging.WARNING,
                f"{len(repositories)} repositories were not started by this run nor by the one before it: {shown}. "
                "One run is too short for the registry: with engine=lambda, deploy engine=stepfunctions; with "
                "engine=stepfunctions, lower repositoriesPerInvocation",
                {
                    "record_type": "starved",
                    "repositories_starved": len(repositories),
                    "repositories": repositories[:100],
                },
            )
        )

    def finished(self, summary: SweepSummary) -> None:
        totals = summary.to_dict()
        totals.pop("repositories")
        self.write(
            Record(
                logging.INFO,
                "sweep finished",
                {"record_type": "sweep_summary", **{snake(k): v for k, v in totals.items()}},
            )
        )

    def region_failed(self, region: str | None, error: BaseException) -> None:
        self.write(
            Record(
                logging.ERROR,
                f"region {region} failed, nothing deleted there: {describe_error(error)}",
                {"record_type": "region_error", "error": describe_error(error)},
                error,
            )
        )


@dataclass
class LogReporter(Reporter):
    """The function's reporter: every record through the Powertools logger."""

    logger: Any = None

    def write(self, record: Record) -> None:
        self.logger.log(record.level, record.message, extra=record.extra, exc_info=record.exc_info)

    def writes(self, level: int) -> bool:
        # A run at INFO (the default) writes no `kept` verdict of the plan: they are not rendered.
        return bool(self.logger.isEnabledFor(level))

    def repository_started(self, repository: str) -> None:
        # Within a worker thread, every record carries `repository`, whoever writes it (botocore's
        # retry warnings too). Powertools' thread-safe keys live in a ContextVar, one per thread.
        self.logger.thread_safe_append_keys(repository=repository)

    def repository_done(self, result: RepositoryResult) -> None:
        try:
            super().repository_done(result)
        finally:
            self.logger.thread_safe_remove_keys(["repository"])


@dataclass
class Recorder(Reporter):
    """Keeps every record as a dict, and every repository's result as values (the command line)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    results: list[RepositoryResult] = field(default_factory=list)
    # The region being swept: every record says which (regions are swept one after the other).
    region: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, record: Record) -> None:
        with self.lock:
            self.records.append({**record.as_dict(), "region": self.region})

    def repository_done(self, result: RepositoryResult) -> None:
        super().repository_done(result)
        with self.lock:
            self.results.append(result)
