"""A plan saved to a file (`ecr-sweeper plan --save`), and read back to approve a sweep
(`ecr-sweeper sweep --plan`), as `terraform plan -out` and `terraform apply` do.

The file holds every verdict with its reason, the regions, the account, the time and the settings
used. Read back, it yields the digests the plan deletes: the sweep deletes no other digest, and of
those only the ones its own fresh judgement still deletes. A file from another account, for other
regions, of another format version, or a forecast (`--as-of`) is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecr_sweeper.core.model import Action, Image, Verdict
from ecr_sweeper.core.outcome import RepositoryResult

FORMAT = "ecr-sweeper-plan"
VERSION = 1


class PlanRefused(ValueError):
    """A plan file that may not approve this sweep: bad usage, exit code 2."""


@dataclass(frozen=True)
class SavedPlan:
    account: str
    regions: tuple[str, ...]
    created_at: datetime
    # Region -> repository -> digest -> the image as planned: what the plan deletes.
    approved: Mapping[str | None, Mapping[str, Mapping[str, Image]]]
    settings: Mapping[str, Any]

    @property
    def digests(self) -> int:
        return count(self.approved)


def count(approved: Mapping[str | None, Mapping[str, Mapping[str, Image]]]) -> int:
    """How many digests an approval (region -> repository -> digest -> image) lets a sweep delete."""
    return sum(len(digests) for repositories in approved.values() for digests in repositories.values())


def document(
    results: Iterable[tuple[str | None, RepositoryResult]],
    *,
    account: str,
    regions: Sequence[str],
    created_at: datetime,
    as_of: datetime | None,
    settings: Mapping[str, Any],
    tool: str,
) -> dict[str, Any]:
    repositories = []
    for region, result in results:
        outcome = result.outcome
        repositories.append(
            {
                "region": region,
                "repository": outcome.repository,
                "status": outcome.status.value,
                "retention": outcome.retention,
                "detail": outcome.detail,
                "verdicts": [_verdict(verdict) for verdict in result.verdicts],
            }
        )
    repositories.sort(key=lambda entry: (entry["region"] or "", entry["repository"]))
    return {
        "format": FORMAT,
        "version": VERSION,
        "tool": tool,
        "createdAt": created_at.isoformat(),
        "asOf": as_of.isoformat() if as_of else None,
        "account": account,
        "regions": list(regions),
        "settings": dict(settings),
        "repositories": repositories,
    }


def load(text: str, *, account: str, regions: Sequence[str], source: str) -> SavedPlan:
    """The plan in `text` (read from `source`), if it may approve a sweep of `account` in `regions`."""
    try:
        doc = json.loads(text)
    except ValueError as error:
        raise PlanRefused(f"{source} is not a saved plan: not JSON ({error})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PlanRefused(f"{source} is not a saved plan: write one with `ecr-sweeper plan --save {source}`")
    if doc.get("version") != VERSION:
        raise PlanRefused(
            f"{source} is a plan of format version {doc.get('version')!r}; this ecr-sweeper reads version "
            f"{VERSION}: plan again with this version"
        )
    if doc.get("asOf"):
        raise PlanRefused(
            f"{source} is a forecast (--as-of {doc['asOf']}): it shows a future night, it cannot be swept"
        )
    if doc.get("account") != account:
        raise PlanRefused(
            f"{source} was planned in account {doc.get('account')}; these credentials are for account {account}"
        )
    planned = sorted(doc.get("regions") or [])
    if planned != sorted(regions):
        raise PlanRefused(
            f"{source} was planned for region(s) {', '.join(planned)}; this sweep is for {', '.join(sorted(regions))}: "
            f"pass --region for each planned region"
        )
    try:
        approved: dict[str | None, dict[str, dict[str, Image]]] = {region: {} for region in planned}
        for entry in doc["repositories"]:
            doomed = {v["digest"]: _image(v) for v in entry["verdicts"] if v["action"] == Action.WOULD_DELETE.value}
            if doomed:
                approved.setdefault(entry["region"], {})[entry["repository"]] = doomed
        created = datetime.fromisoformat(doc["createdAt"])
    except (KeyError, TypeError, ValueError) as error:
        raise PlanRefused(f"{source} is damaged: {type(error).__name__} {error}") from None
    return SavedPlan(str(account), tuple(planned), created, approved, doc.get("settings") or {})


def _verdict(verdict: Verdict) -> dict[str, Any]:
    image = verdict.image
    entry: dict[str, Any] = {
        "digest": image.digest,
        "action": verdict.action.value,
        "reason": verdict.reason,
        "protection": verdict.protection.value if verdict.protection else None,
        "caveat": verdict.caveat,
        "pushedAt": image.pushed_at.isoformat() if image.pushed_at else None,
        "lastPulledAt": image.last_pulled_at.isoformat() if image.last_pulled_at else None,
        "sizeBytes": image.size_bytes,
        "mediaType": image.media_type,
        "artifactMediaType": image.artifact_media_type,
        "subjectDigest": image.subject_digest,
    }
    return entry


def _image(entry: Mapping[str, Any]) -> Image:
    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(entry[key]) if entry.get(key) else None

    return Image(
        digest=str(entry["digest"]),
        tags=(),
        pushed_at=when("pushedAt"),
        size_bytes=int(entry.get("sizeBytes") or 0),
        last_pulled_at=when("lastPulledAt"),
        media_type=entry.get("mediaType"),
        artifact_media_type=entry.get("artifactMediaType"),
        subject_digest=entry.get("subjectDigest"),
    )
