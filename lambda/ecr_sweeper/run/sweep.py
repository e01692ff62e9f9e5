"""One sweep of one region: the in-use scan, the selection and its rotation, the worker pool and
the deadline. Each repository is swept by repository_sweep.py; what happens is handed to a
Listener as values, and the summary is returned.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field, replace

from ecr_sweeper.aws.in_use.values import InUse, InUseScanFailed
from ecr_sweeper.aws.registry import EcrRegistry
from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.model import Repository
from ecr_sweeper.core.outcome import (
    InUseReport,
    InUseState,
    Listener,
    RepositoryOutcome,
    RepositoryResult,
    Status,
    SweepSummary,
)
from ecr_sweeper.core.rotation import CursorStore, Position, rotate
from ecr_sweeper.run.repository_sweep import Judgement, RepositorySweep


@dataclass(frozen=True)
class Selection:
    """Which repositories a run sweeps: every one (None), or the named ones.

    Named repositories are what a person asked for: one that does not exist is an error. A
    `listed` selection is a batch the sweeper listed itself (Step Functions): one deleted since
    is simply gone.
    """

    names: tuple[str, ...] | None = None
    listed: bool = False


@dataclass(frozen=True)
class Sweep:
    registry: EcrRegistry
    judgement: Judgement
    listener: Listener
    selection: Selection = Selection()
    # Reads what the region's workloads run or will pull; None when in-use protection is off.
    scan_in_use: Callable[[], InUse] | None = None
    # Repositories swept at once. The registry's client is shared by the workers (botocore
    # clients are thread-safe) and its connection pool is sized to match.
    workers: int = 1
    deadline: Deadline = field(default_factory=Deadline)
    # Where to start, and where the next run starts; None: no rotation (a person named the
    # repositories, and the nightly order must not move for it).
    cursor: CursorStore | None = None

    def run(self, summary: SweepSummary) -> SweepSummary:
        judgement = self._in_use(summary)
        if judgement is None:
            self.listener.finished(summary)
            return summary
        start = self._load_start()
        queue = self._selected(summary, start.start)
        self.listener.selected(len(queue))
        not_started = self._sweep_all(queue, judgement, summary)
        summary.not_started = len(not_started)
        if self.cursor is not None:
            self._remember(queue, not_started, start, summary)
        self.listener.finished(summary)
        return summary

    def _in_use(self, summary: SweepSummary) -> Judgement | None:
        """The judgement with what is in use; None when the scan failed (then nothing is swept)."""
        if self.scan_in_use is None:
            summary.in_use = InUseState.OFF
            self.listener.in_use(InUseReport(InUseState.OFF))
            return replace(self.judgement, in_use=None)
        try:
            found = self.scan_in_use()
        except InUseScanFailed as error:
            # Without the full picture any digest might be running somewhere: delete nothing.
            summary.in_use, summary.in_use_error = InUseState.FAILED, str(error)
            summary.in_use_calls = error.calls
            self.listener.in_use(InUseReport(InUseState.FAILED, error=error, api_calls=error.calls))
            return None
        summary.consumer_accounts_scanned = len(found.consumer_accounts)
        summary.in_use_calls = found.api_calls
        self.listener.in_use(report_of(found))
        return replace(self.judgement, in_use=found.digests, inspector=found.inspector)

    def _sweep_all(self, queue: list[Repository], judgement: Judgement, summary: SweepSummary) -> list[Repository]:
        """Sweep with at most `workers` repositories in flight; returns those never started."""

        def collect(done: set[Future[RepositoryOutcome]]) -> None:
            summary.outcomes.extend(future.result() for future in done)

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sweep") as pool:
            running: set[Future[RepositoryOutcome]] = set()
            for index, repository in enumerate(queue):
                while len(running) >= self.workers:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    collect(done)
                if not self.deadline.can_start_repository():
                    self.listener.deadline(len(queue) - index, repository.name)
                    collect(set(as_completed(running)))
                    return queue[index:]
                running.add(pool.submit(self._sweep_one, repository, judgement))
            collect(set(as_completed(running)))
        return []

    def _sweep_one(self, repository: Repository, judgement: Judgement) -> RepositoryOutcome:
        self.listener.repository_started(repository.name)
        result = RepositorySweep(self.registry, judgement, self.deadline, repository, self.listener.verdict).run()
        self.listener.repository_done(result)
        # The summary keeps the counts; the verdicts went to the listener, so that memory stays
        # flat however many digests the region holds.
        return result.outcome

    def _selected(self, summary: SweepSummary, start: str) -> list[Repository]:
        """The repositories to sweep, in this run's order.

        A failure to list repositories is not isolated: it propagates, and nothing is deleted.
        """
        by_name = {repository.name: repository for repository in self.registry.repositories()}
        names = self.selection.names
        if names is not None:
            if not self.selection.listed:
                for name in names:
                    if name not in by_name:
                        self._not_found(name, summary)
            by_name = {name: by_name[name] for name in names if name in by_name}
        if self.cursor is None:
            return list(by_name.values())
        return [by_name[name] for name in rotate(list(by_name), start)]

    def _not_found(self, name: str, summary: SweepSummary) -> None:
        outcome = RepositoryOutcome(
            name,
            status=Status.ERROR,
            detail="RepositoryNotFound: named in the event, but not in this account and region",
        )
        self.listener.repository_done(RepositoryResult(outcome))
        summary.outcomes.append(outcome)

    def _load_start(self) -> Position:
        if self.cursor is None:
            return Position()
        try:
            return self.cursor.load()
        except Exception as error:  # noqa: BLE001 - rotation is a convenience, never a reason to stop
            self.listener.cursor_error("read", error)
            return Position()

    def _remember(
        self, queue: list[Repository], not_started: list[Repository], previous: Position, summary: SweepSummary
    ) -> None:
        """The next run starts with the first repository, in this run's order, that this one did
        not finish. A dry run changes nothing: the next real run starts where the last real one
        stopped."""
        unfinished = {o.repository for o in summary.outcomes if o.status is Status.DEFERRED}
        unfinished |= {repository.name for repository in not_started}
        start = next((repository.name for repository in queue if repository.name in unfinished), "")
        summary.next_start = start
        summary.starved = [r.name for r in not_started if previous.left_unstarted(r.name)]
        if summary.starved:
            self.listener.starved(summary.starved)
        if self.judgement.dry_run:
            return
        position = Position(start, (not_started[0].name, queue[0].name) if not_started else None)
        try:
            self.cursor.save(position)  # type: ignore[union-attr]
        except Exception as error:  # noqa: BLE001 - as above
            self.listener.cursor_error("write", error)


def report_of(found: InUse) -> InUseReport:
    """What a scan (or an execution's picture of one) found, as the listener is told it."""
    return InUseReport(
        InUseState.OK,
        digests=found.count,
        by_family=found.by_family(),
        not_offered=tuple(found.skipped),
        ignored_clusters=tuple(found.ignored_clusters),
        inspector_unavailable=found.inspector_unavailable,
        consumer_accounts=tuple(found.consumer_accounts),
        ignored_accounts=tuple(found.ignored_accounts),
        api_calls=found.api_calls,
        from_cache=found.from_cache,
        scanned_at=found.scanned_at,
        picture=found.picture,
    )
