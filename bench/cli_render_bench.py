"""How long the command line takes to draw a large plan, and how many lines it prints: the default
view (one row per repository) against --details (one row per digest), at 80 columns, from values
alone (no AWS, no emulator). Nothing here asserts a time: the numbers are printed.

    python -m bench.cli_render_bench                  # 200 repositories x 1,000 digests, 3 runs
    python -m bench.cli_render_bench --repositories 20 --digests 100
"""

from __future__ import annotations

import argparse
import io
import os
import time
from datetime import datetime, timedelta, timezone

from rich.console import Console

from ecr_sweeper.core.model import Action, Image, Protection, Verdict
from ecr_sweeper.core.outcome import RepositoryOutcome, RepositoryResult, SweepSummary
from ecr_sweeper.faces.cli.views import Collected, Run, View

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


def plan(repositories: int, digests: int) -> Run:
    collected = Collected(dry_run=True, region="us-east-1")
    for r in range(repositories):
        outcome = RepositoryOutcome(f"team/service-{r:04}", retention="7d")
        outcome.images_scanned = outcome.untagged_images = digests
        result = RepositoryResult(outcome)
        for d in range(digests):
            image = Image(f"sha256:{r:032x}{d:032x}", (), NOW - timedelta(days=9), 32_000_000)
            if d % 3:
                result.verdict(
                    Verdict(image, Action.WOULD_DELETE, "expired: pushed 9d ago, no pull recorded, retention 7d")
                )
            else:
                result.verdict(
                    Verdict(image, Action.KEPT, "pulled recently: last pulled 2d ago, retention 7d", Protection.PULL)
                )
        collected.regional.append(("us-east-1", result))
    return Run([SweepSummary(dry_run=True, as_of=None, region="us-east-1")], collected)


def draw(run: Run, *, details: bool) -> tuple[float, int]:
    view = View("table", details=details)
    buffer = io.StringIO()
    view.out = Console(file=buffer, width=80, highlight=False, soft_wrap=False)
    started = time.perf_counter()
    view.show(run, command="plan")
    return time.perf_counter() - started, buffer.getvalue().count("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repositories", type=int, default=200)
    parser.add_argument("--digests", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run = plan(args.repositories, args.digests)
    print(f"{args.repositories} repositories x {args.digests:,} digests, 80 columns, load {os.getloadavg()[0]:.1f}")
    for details in (False, True):
        timings = []
        for _ in range(args.runs):
            seconds, lines = draw(run, details=details)
            timings.append(seconds)
        name = "--details" if details else "default"
        print(f"{name:>9}: {lines:,} lines, {min(timings):.2f}-{max(timings):.2f} s over {args.runs} runs")


if __name__ == "__main__":
    main()
