"""What every command of the command line does before and around its sweep: the set-up (settings,
target, regions, who is calling), the repositories its patterns select, whether to read untagged
index manifests, and one sweep over the regions that Ctrl-C stops at a safe point."""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.settings import RunOptions, Settings
from ecr_sweeper.faces.cli.views import Collected, Run, View
from ecr_sweeper.run import runner

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad arguments, settings or set-up: one line on stderr that says what to do, exit code 2."""


class Interrupted(Exception):
    """Ctrl-C before anything was deleted."""


@dataclass(frozen=True)
class Setup:
    settings: Settings
    # What the person gave (--profile, --endpoint-url): the runner builds every client from it.
    target: runner.Target
    regions: tuple[str, ...]
    account: str
    caller: str
    # The regions were given with --region: else the configured one, and the function's state
    # (the cursor) is the stack's own parameter, not a per-region one.
    named: bool = True


def set_up(args: argparse.Namespace) -> Setup:
    """Settings, clients, regions and who is calling, or a UsageError that says what to do.
    Nothing is swept before all of these are known."""
    settings = runner.laptop_settings(os.environ)
    endpoint = args.endpoint_url
    if endpoint is not None and not re.match(r"https?://[^/]", endpoint):
        raise UsageError(f"--endpoint-url {endpoint!r} needs a scheme: for example http://{endpoint.split('://')[-1]}")
    target = runner.Target(profile=args.profile, endpoint_url=endpoint)
    known = runner.known_regions()
    for region in args.region or ():
        if region not in known:
            raise UsageError(f"--region {region!r} is not an ECR region")
    regions = tuple(dict.fromkeys(args.region or [runner.configured_region(target) or ""]))
    if regions == ("",):
        raise UsageError("no region: pass --region, or set AWS_REGION (or a region in your profile)")
    account, caller = runner.identity(target, regions[0])
    return Setup(settings, target, regions, account, caller, named=bool(args.region))


def select(args: argparse.Namespace, setup: Setup) -> dict[str, tuple[str, ...]] | None:
    """Region -> the repositories the names and shell patterns match; None: every repository.
    A name or pattern that matches nothing in any region is an error, before anything is swept."""
    patterns = args.repository
    if not patterns:
        return None
    selected: dict[str, tuple[str, ...]] = {}
    unmatched = set(patterns)
    for region in setup.regions:
        names = runner.repository_names(setup.target, region)
        hits = [name for name in names if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
        unmatched -= {p for p in patterns if any(fnmatch.fnmatchcase(name, p) for name in names)}
        selected[region] = tuple(hits)
    if unmatched:
        first = sorted(unmatched)[0]
        where = f"{', '.join(setup.regions)} (account {setup.account})"
        if any(ch in first for ch in "*?["):
            raise UsageError(f"no repository matches {first!r} in {where}")
        raise UsageError(f"repository {first!r} does not exist in {where}")
    return selected


def manifest_reads(args: argparse.Namespace, view: View, setup: Setup) -> dict[str, bool]:
    """Per region: whether to read untagged index manifests (decided below, core/manifest_reads.py);
    each decision that needs the person's attention is said on stderr."""
    decided = runner.manifest_reads(setup.target, setup.regions, setup.caller, told=args.read_manifests)
    for reads in decided.values():
        if reads.warning:
            view.warn(reads.warning)
    return {region: reads.read for region, reads in decided.items()}


def sweep(
    view: View,
    setup: Setup,
    selected: dict[str, tuple[str, ...]] | None,
    reads: dict[str, bool],
    *,
    dry_run: bool,
    what: str,
    as_of: datetime | None = None,
    approved: Any = None,
    trace: bool = False,
) -> Run:
    """One dry or real run over the regions in turn. Ctrl-C starts no new repository or delete
    batch; the batch in flight finishes, and the run returns what happened, marked interrupted."""
    collected = Collected(dry_run=dry_run, view=view)
    deadline = Deadline()
    summaries = []
    with interruptible(view, deadline), view.progress(what):
        for region in setup.regions:
            if deadline.stopped.is_set():
                break
            if selected is not None and not selected.get(region):
                continue
            options = RunOptions(
                dry_run=dry_run,
                repositories=selected[region] if selected is not None else None,
                as_of=as_of,
                trace=trace,
                approved=approved,
                read_untagged_indexes=reads.get(region, True),
            )

            def listener(name: str | None) -> Collected:
                collected.region = name
                return collected

            summaries.append(
                runner.sweep(
                    setup.settings,
                    options,
                    listener=listener,
                    target=setup.target,
                    regions=(region if setup.named else None,),
                    deadline=deadline,
                )
            )
    flat = [s for summary in summaries for s in (summary.regions or [summary])]
    return Run(flat, collected, interrupted=deadline.stopped.is_set())


@contextmanager
def interruptible(view: View, deadline: Deadline) -> Iterator[None]:
    """The first Ctrl-C stops the sweep at the next safe point; a second one stops at once."""

    def stop(signum: int, frame: Any) -> None:
        if deadline.stopped.is_set():
            raise KeyboardInterrupt
        deadline.stop()
        view.say("Interrupted: no new delete batch starts; the one in flight finishes. Ctrl-C again to stop now.")

    try:
        previous = signal.signal(signal.SIGINT, stop)
    except ValueError:  # not the main thread: no signal handling there
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_code(run: Run) -> int:
    return EXIT_FAILED if run.failed else EXIT_OK
