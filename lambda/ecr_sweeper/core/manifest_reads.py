"""Whether a run may read untagged index manifests, decided once per region (pure).

ECR records a pull for every BatchGetImage by a principal that is not a pull-time update exclusion
(ECR user guide, "Pull time update exclusions"), and a recorded pull keeps the index alive for its
retention again. The function's role is the exclusion its stack registers; a person's principal on a
laptop may not be. So without the exclusion untagged index manifests are read only when the person
asks for it (--read-manifests), and either way the run says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ecr_sweeper.core.references import is_excluded, principal_arn


@dataclass(frozen=True)
class ManifestReads:
    """Whether to read untagged index manifests in a region, and what to tell the person."""

    read: bool
    warning: str | None = None


def manifest_reads(
    caller: str, region: str, exclusions: Sequence[str] | None, *, unknown: str = "", told: bool
) -> ManifestReads:
    """`exclusions`: the region's pull-time update exclusions (None: they could not be listed,
    `unknown` says why); `told`: the person asked to read the manifests anyway."""
    if exclusions is not None and is_excluded(caller, exclusions):
        return ManifestReads(read=True)
    why = f" (could not list the exclusions: {unknown})" if exclusions is None else ""
    principal = principal_arn(caller)
    register = (
        f"aws ecr register-pull-time-update-exclusion --principal-arn {principal} --region {region}"
        if principal
        else "use a role or IAM user: only those can be excluded"
    )
    if told:
        return ManifestReads(
            read=True,
            warning=f"{region}: {caller} is not a pull-time update exclusion{why}, so each index manifest read now "
            f"records a pull and keeps that index alive for its retention again. Register it once: {register}",
        )
    return ManifestReads(
        read=False,
        warning=f"{region}: {caller} is not a pull-time update exclusion{why}, so untagged index manifests are not "
        "read (a read records a pull that keeps the index alive); what they list is unverified and so marked. To "
        f"read them: {register}, or pass --read-manifests",
    )
