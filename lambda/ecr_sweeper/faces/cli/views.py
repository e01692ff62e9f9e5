"""What the command line shows: the sweep's values as tables at any width, one JSON document, or
JSON lines as they happen. Prompts and progress go to stderr, so stdout holds only the output.

Sizes are decimal (kB, MB, GB: powers of 1,000), as ECR's price per GB-month is quoted.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape

from ecr_sweeper.core.model import Action, Verdict
from ecr_sweeper.core.outcome import (
    InvalidTag,
    RepositoryFailed,
    RepositoryResult,
    SweepSummary,
)
from ecr_sweeper.faces.cli.tables import day, fitted, listing, short, shorten, size
from ecr_sweeper.run.records import notice_record, verdict_record
from ecr_sweeper.run.report import Recorder

# Amazon ECR storage: USD 0.10 per GB-month (aws.amazon.com/ecr/pricing, "Storage", private
# repositories; the same in most regions). An estimate: layers shared with kept images are not freed.
ECR_STORAGE_USD_PER_GB_MONTH = 0.10
GB = 1000**3
# What the planner and a real run end with that counts as deleting.
DELETING = (Action.WOULD_DELETE, Action.DELETED)
# Final verdicts of a real run that the stream shows as they happen.
STREAMED = (Action.DELETED, Action.DELETE_FAILED, Action.GONE, Action.DEFERRED)


@dataclass
class Collected(Recorder):
    """The command line's listener: keeps each repository's result with its region, counts the
    repositories for the progress bar, and streams deletions (and, with jsonl, every record)."""

    view: View | None = None
    regional: list[tuple[str | None, RepositoryResult]] = field(default_factory=list)

    def selected(self, repositories: int) -> None:
        if self.view is not None:
            self.view.add_total(repositories)

    def verdict(self, repository: str, verdict: Verdict) -> None:
        if self.view is not None and verdict.action in STREAMED:
            self.view.deletion(self.region, repository, verdict, dry_run=self.dry_run)

    def repository_done(self, result: RepositoryResult) -> None:
        super().repository_done(result)
        with self.lock:
            self.regional.append((self.region, result))
        if self.view is not None:
            self.view.repository_done(self.region, result, dry_run=self.dry_run)


@dataclass
class Run:
    """One sweep as the command line saw it: the summary of each region, and every result."""

    summaries: list[SweepSummary]
    collected: Collected
    interrupted: bool = False

    @property
    def results(self) -> list[tuple[str | None, RepositoryResult]]:
        return sorted(self.collected.regional, key=lambda pair: (pair[0] or "", pair[1].outcome.repository))

    @property
    def failed(self) -> bool:
        return any(s.failed or s.in_use_failed or s.error or s.total("delete_failures") for s in self.summaries)

    def verdicts(self, *actions: Action) -> list[tuple[str | None, str, Verdict]]:
        return [
            (region, result.outcome.repository, verdict)
            for region, result in self.results
            for verdict in result.verdicts
            if verdict.action in actions
        ]


class View:
    """Renders to the chosen output: `table` (rich, on a terminal or piped), `json` (exactly one
    document on stdout) or `jsonl` (one object per line, each written as it happens)."""

    def __init__(self, output: str, *, details: bool = False) -> None:
        self.output = output
        self.details = details
        # Console(file=None) writes to whatever sys.stdout is at the time: a live progress bar
        # swaps it for a proxy that keeps the bar below the lines.
        self.out = Console(highlight=False, soft_wrap=False)
        # Messages are single lines, however narrow the terminal: a wrapped hint is harder to copy.
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None
        self._streamed: set[tuple[str | None, str, str]] = set()

    # -- while sweeping ---------------------------------------------------------------------

    @contextmanager
    def progress(self, what: str) -> Iterator[None]:
        """A bar that counts repositories, with an ETA, on a terminal's stderr; nothing otherwise."""
        if self.output != "table" or not self.err.is_terminal:
            yield
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("repositories"),
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        ) as bar:
            self._progress, self._task = bar, bar.add_task(what, total=0)
            try:
                yield
            finally:
                self._progress = None

    def add_total(self, repositories: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=(self._progress.tasks[0].total or 0) + repositories)

    def repository_done(self, region: str | None, result: RepositoryResult, *, dry_run: bool) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)
        if self.output != "jsonl":
            return
        name = result.outcome.repository
        with self._lock:
            for event in result.events:
                if isinstance(event, Verdict):
                    if (region, name, event.image.digest) in self._streamed:
                        continue
                    record = verdict_record(name, event, dry_run=dry_run)
                else:
                    record = notice_record(name, event, dry_run=dry_run)
                self.line({"type": record.extra.get("record_type", "notice"), **record.as_dict(), "region": region})
            self.line({"type": "repository", "region": region, **result.outcome.to_dict()})

    def deletion(self, region: str | None, repository: str, verdict: Verdict, *, dry_run: bool) -> None:
        """A deletion's outcome, printed the moment ECR answered."""
        with self._lock:
            if self.output == "jsonl":
                self._streamed.add((region, repository, verdict.image.digest))
                record = verdict_record(repository, verdict, dry_run=dry_run)
                self.line({"type": "verdict", **record.as_dict(), "region": region})
            elif self.output == "table":
                image = verdict.image
                # The size first: a long repository name is what gets cut at the terminal's edge.
                line = f"{verdict.action.value:<13} {size(image.size_bytes):>9}  {repository}@{short(image.digest)}"
                self.out.print(
                    escape(line),
                    overflow="ellipsis",
                    no_wrap=True,
                    crop=True,
                )

    def line(self, document: dict[str, Any]) -> None:
        print(json.dumps(document, default=str), flush=True)

    # -- messages -----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A line for the person at the terminal: on stderr, so that it never mixes with the output."""
        self.err.print(text, markup=False, highlight=False)

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/] {escape(text)}")

    def error(self, message: str, code: int) -> None:
        """A failure in one line on stderr; with JSON output, also as the one document on stdout."""
        self.err.print(f"ecr-sweeper: {message}", markup=False, highlight=False)
        if self.output == "json":
            self.line({"error": message, "exitCode": code})
        elif self.output == "jsonl":
            self.line({"type": "error", "error": message, "exitCode": code})

    # -- after the sweep -------------------------------------------------------------------------

    def explanation(
        self, repository: str, digest: str, tags: Sequence[str], rules: list[dict[str, Any]], verdict: dict[str, str]
    ) -> None:
        """`explain`: every rule checked for one digest, whether it applies, and the verdict."""
        if self.output in ("json", "jsonl"):
            self.line({"repository": repository, "digest": digest, "tags": list(tags), "rules": rules,
                       "verdict": verdict})  # fmt: skip
            return
        self.out.print(f"[bold]{escape(repository)}@{digest}[/]", soft_wrap=True)
        for rule in rules:
            mark = "[green]applies[/]" if rule["applies"] else "[dim]does not apply[/]"
            self.out.print(f"  {escape(rule['rule'])}: {mark} - {escape(rule['detail'])}", soft_wrap=True)
        self.out.print(f"[bold]verdict[/]: {escape(verdict['action'])} - {escape(verdict['reason'])}", soft_wrap=True)

    def interrupted(
        self,
        run: Run,
        deleted: Sequence[tuple[str | None, str, str]],
        not_deleted: Sequence[tuple[str | None, str, str]],
        extra: dict[str, Any],
    ) -> None:
        """A sweep stopped by Ctrl-C: its output, then (in a table) what was and was not deleted."""
        self.show(run, command="sweep", extra=extra)
        if self.output == "table":
            self.say(f"Interrupted. Deleted {len(deleted)} digest(s):")
            for line in listing(deleted):
                self.say(f"  {line}")
            self.say(f"Not deleted: {len(not_deleted)} digest(s) of the plan:")
            for line in listing(not_deleted):
                self.say(f"  {line}")

    def nothing(self, *, command: str, **extra: Any) -> None:
        """The output of a command that swept nothing (no approved digest, or the answer was no):
        still one JSON document, or one totals line."""
        totals = {"digests": 0, "bytes": 0, "estimatedMonthlySavingUsd": 0.0}
        if self.output == "json":
            self.line({"command": command, "dryRun": False, "interrupted": False, "summaries": [], "totals": totals,
                       "records": [], **extra})  # fmt: skip
        elif self.output == "jsonl":
            self.line({"type": "totals", "command": command, "interrupted": False, **totals, **extra})

    def show(self, run: Run, *, command: str, extra: dict[str, Any] | None = None) -> None:
        totals = _totals(run)
        if self.output == "json":
            document = {
                "command": command,
                "dryRun": run.summaries[0].dry_run if run.summaries else True,
                "interrupted": run.interrupted,
                "summaries": [s.to_dict() | {"region": s.region} for s in run.summaries],
                "totals": totals,
                "records": run.collected.records,
                **(extra or {}),
            }
            self.line(document)
            return
        if self.output == "jsonl":
            for summary in run.summaries:
                self.line({"type": "summary", "region": summary.region, **_without_lists(summary.to_dict())})
            self.line({"type": "totals", "command": command, "interrupted": run.interrupted, **totals, **(extra or {})})
            return
        if self.details:
            self._details(run)
        else:
            self._repositories(run)
        for problem in _problems(run):
            self.out.print(f"[yellow]{escape(problem)}[/]")
        doing = "deleted" if run.summaries and not run.summaries[0].dry_run else "to delete"
        self.out.print(f"Total {doing}: {totals['digests']:,} digest(s), {size(totals['bytes'])}")
        self.out.print(
            f"Storage saved: about USD {totals['estimatedMonthlySavingUsd']:,.2f} a month "
            f"(USD {ECR_STORAGE_USD_PER_GB_MONTH:.2f} per GB-month)"
        )

    def _repositories(self, run: Run) -> None:
        """One row per repository, with its region; each cell at most two lines."""
        deleting = "deleted" if _real(run) else "to delete"
        headers = [
            "region",
            "repository",
            "retention",
            "status",
            "scanned",
            "untagged",
            deleting,
            "kept by reason",
            "bytes",
        ]
        rows = []
        for region, result in run.results:
            outcome = result.outcome
            kept = Counter(
                (v.protection.value.lower() if v.protection else "other")
                for v in result.verdicts
                if v.action is Action.KEPT
            )
            rows.append(
                [
                    region or "-",
                    outcome.repository,
                    outcome.retention or "-",
                    outcome.status.value,
                    str(outcome.images_scanned),
                    str(outcome.untagged_images),
                    str(outcome.images_deleted),
                    " ".join(f"{k} {n}" for k, n in kept.most_common()) or "-",
                    size(outcome.bytes_reclaimed),
                ]
            )
        # The repository and the reasons share what the fixed columns leave.
        self.out.print(fitted(None, headers, rows, width=self.out.width, flexible=(1, 7), right=(4, 5, 6, 8)))

    def _details(self, run: Run) -> None:
        """One table per repository, one row per untagged digest; the reason gets what is left."""
        headers = ["digest", "pushed", "size", "verdict", "reason"]
        for region, result in run.results:
            if not result.verdicts:
                continue
            rows = [
                [
                    short(verdict.image.digest),
                    day(verdict.image.pushed_at),
                    size(verdict.image.size_bytes),
                    verdict.action.value,
                    shorten(verdict.reason) + (" (unverified: see caveat)" if verdict.caveat else ""),
                ]
                for verdict in result.verdicts
            ]
            title = f"{result.outcome.repository} ({region or '-'})"
            self.out.print(fitted(title, headers, rows, width=self.out.width, flexible=(4,), right=(2,)))


def _real(run: Run) -> bool:
    return bool(run.summaries) and not run.summaries[0].dry_run


def _totals(run: Run) -> dict[str, Any]:
    deleting = [verdict for _, _, verdict in run.verdicts(*DELETING)]
    total = sum(verdict.image.size_bytes for verdict in deleting)
    return {
        "digests": len(deleting),
        "bytes": total,
        "estimatedMonthlySavingUsd": round(total / GB * ECR_STORAGE_USD_PER_GB_MONTH, 2),
    }


def _without_lists(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in ("repositories", "regions")}


def _problems(run: Run) -> list[str]:
    """What needs a person: invalid tags, failed repositories, a failed in-use scan or region."""
    problems = []
    for region, result in run.results:
        for notice in result.events:
            if isinstance(notice, InvalidTag | RepositoryFailed):
                record = notice_record(result.outcome.repository, notice, dry_run=not _real(run))
                problems.append(f"{region}: {record.message}" if region else record.message)
    for summary in run.summaries:
        if summary.in_use_failed:
            problems.append(f"{summary.region}: in-use scan {summary.in_use_text}; nothing deleted in this region")
        if summary.error:
            problems.append(f"{summary.region}: failed, nothing deleted there: {summary.error}")
    return problems
