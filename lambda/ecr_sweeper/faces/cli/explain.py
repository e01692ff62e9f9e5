"""`ecr-sweeper explain REPOSITORY DIGEST`: every rule the planner checked for one digest, whether it
applied, and the verdict: the planner's own trace of a dry run of that repository."""

from __future__ import annotations

import argparse
import re
from dataclasses import replace

from ecr_sweeper.faces.cli.session import EXIT_FAILED, Interrupted, Setup, UsageError, exit_code, manifest_reads, sweep
from ecr_sweeper.faces.cli.tables import SHORT_DIGEST
from ecr_sweeper.faces.cli.views import View
from ecr_sweeper.run import runner

_HEX = re.compile(r"[0-9a-f]+")


def explain(args: argparse.Namespace, view: View, setup: Setup) -> int:
    """Every rule the planner checked for one digest, whether it applied, and the verdict (docs,
    "What ecr-sweeper will never delete"): the planner's own trace of a dry run of that repository."""
    wanted = args.digest.lower().removeprefix("sha256:")
    if not _HEX.fullmatch(wanted) or len(wanted) < SHORT_DIGEST or len(wanted) > 64:
        raise UsageError(
            f"digest {args.digest!r}: give the digest, or a prefix of at least {SHORT_DIGEST} hex characters "
            "(the plan's short digest)"
        )
    region = setup.regions[0]
    if len(setup.regions) > 1:
        raise UsageError("explain looks at one region: pass one --region")
    if args.repository not in runner.repository_names(setup.target, region):
        raise UsageError(f"repository {args.repository!r} does not exist in {region} (account {setup.account})")
    reads = manifest_reads(args, view, setup)
    swept = sweep(view, replace(setup, regions=(region,)),
                   {region: (args.repository,)}, reads, dry_run=True, trace=True, what="explaining")  # fmt: skip
    result = next((r for _, r in swept.results if r.outcome.repository == args.repository), None)
    if swept.interrupted:
        raise Interrupted
    if result is None:
        summary = swept.summaries[0]
        why = summary.error or summary.in_use_text
        view.error(f"{args.repository} was not swept: {why}", EXIT_FAILED)
        return EXIT_FAILED
    outcome = result.outcome
    why = f": {outcome.detail}" if outcome.detail else ""
    if not result.images:
        # Skipped (no retention tag in opt-in mode), an invalid tag, or failed: nothing is judged.
        view.error(f"{args.repository} is {outcome.status.value}{why}: none of its digests is judged", EXIT_FAILED)
        return EXIT_FAILED
    matches = sorted(d for d in result.images if d.removeprefix("sha256:").startswith(wanted))
    if not matches:
        view.error(f"no digest in {args.repository} starts with {wanted}", EXIT_FAILED)
        return EXIT_FAILED
    if len(matches) > 1:
        view.error(
            f"{wanted} is ambiguous in {args.repository}: it starts {', '.join(matches)}; give more characters",
            EXIT_FAILED,
        )
        return EXIT_FAILED
    [digest] = matches
    image = result.images[digest]
    rules = [{"rule": "retention", "applies": outcome.status.value == "swept",
              "detail": f"{outcome.retention} ({outcome.status.value}{why})"}]  # fmt: skip
    rules += [{"rule": c.rule, "applies": c.applies, "detail": c.detail} for c in result.trace.get(digest, ())]
    found = next((v for v in result.verdicts if v.image.digest == digest), None)
    if image.tags:
        verdict = {"action": "tagged", "reason": f"tagged: never judged ({', '.join(image.tags)})"}
    elif found is not None:
        verdict = {"action": found.action.value, "reason": found.reason}
    else:
        verdict = {"action": "none", "reason": f"{outcome.status.value}: not judged{why}"}
    view.explanation(args.repository, digest, image.tags, rules, verdict)
    return exit_code(swept)
