"""The one grammar for Amazon ECR image references, as workloads name them (pure, no AWS calls).

    <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:<tag>][@sha256:<hex>]

Registry hosts (ECR user guide, "Making requests to Amazon ECR registries"; AWS General Reference,
"Amazon ECR endpoints and quotas"):
- `dkr.ecr` and `dkr.ecr-fips` under `amazonaws.com`, and under `amazonaws.com.cn` in China;
- the dual-stack `dkr-ecr` and `dkr-ecr-fips` under `on.aws`.
Container runtimes accept `name:tag@sha256:...` and pull the digest, ignoring the tag, so the
digest wins whenever both are given. A reference to any other registry is not ECR's and is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_HOST = (
    r"(?P<account>\d{12})\."
    # Host names are case-insensitive (RFC 4343); repository names, tags and digests are not.
    r"(?i:dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?"
    r"|dkr-ecr(?:-fips)?\.(?P<dual_region>[a-z]{2}(?:-[a-z]+)+-\d+)\.on\.aws)"
)
# ECR repository names (CreateRepository, repositoryName pattern), so also paths with slashes.
_REPOSITORY = r"(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
# Docker/OCI tag grammar: up to 128 characters.
_TAG = r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
_DIGEST = r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
_REFERENCE = re.compile(_HOST + "/" + _REPOSITORY + _TAG + _DIGEST)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class ImageRef:
    """A parsed ECR reference. `digest` is what a runtime pulls when it is set; `tag` is kept for
    the record. A reference with neither names the `latest` tag."""

    account: str
    region: str
    repository: str
    tag: str | None = None
    digest: str | None = None


def parse_image(reference: str | None) -> ImageRef | None:
    """The ECR image a reference names, or None when it is not an ECR reference at all."""
    match = _REFERENCE.fullmatch((reference or "").strip())
    if match is None:
        return None
    tag, digest = match["tag"], match["digest"]
    return ImageRef(
        account=match["account"],
        region=(match["region"] or match["dual_region"]).lower(),
        repository=match["repository"],
        tag=tag if tag or digest else "latest",
        digest=digest,
    )


def is_digest(value: str | None) -> bool:
    """True for a sha256 content digest as ECR and ECS report it (`imageDigest`)."""
    return bool(value) and DIGEST.fullmatch(value or "") is not None


# A container runtime's report of what runs (Kubernetes imageID, ECS imageDigest): a digest alone,
# a reference ending in one, or either behind a scheme such as docker-pullable://.
_REPORTED = re.compile(r"(?:^[a-z-]+://)?(?:.*@)?(sha256:[0-9a-f]{64})")


def reported_digest(value: str | None) -> str | None:
    """The digest a runtime reports as running, whatever registry it came from; digests are
    content hashes, so protecting one that is not ECR's costs nothing."""
    match = _REPORTED.fullmatch((value or "").strip())
    return match.group(1) if match else None


# A caller as sts:GetCallerIdentity names it, and a principal as a pull-time update exclusion
# names it (pattern from the ECR API reference, RegisterPullTimeUpdateExclusion:
# arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/path/name).
_SESSION = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):sts::(?P<account>\d{12}):assumed-role/(?P<name>[\w+=,.@-]+)/.+"
)
_PRINCIPAL = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):(?P<kind>role|user)/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)"
)


def principal_arn(caller: str) -> str | None:
    """The IAM principal a pull-time update exclusion must name for this caller: a role session's
    role (STS drops the role's path, so this ARN has none), a user itself; None for anything that
    cannot be excluded (the root user, a federated user)."""
    session = _SESSION.fullmatch(caller)
    if session:
        return f"arn:{session['partition']}:iam::{session['account']}:role/{session['name']}"
    return caller if _PRINCIPAL.fullmatch(caller) else None


def is_excluded(caller: str, exclusions: Sequence[str]) -> bool:
    """Whether ECR records no pull for `caller`: an exclusion names its role (whatever the role's
    path) or the user itself."""
    principal = principal_arn(caller)
    match = _PRINCIPAL.fullmatch(principal or "")
    if match is None:
        return False
    key = (match["partition"], match["account"], match["kind"], match["name"])
    for arn in exclusions:
        other = _PRINCIPAL.fullmatch(arn)
        if other and (other["partition"], other["account"], other["kind"], other["name"]) == key:
            return True
    return False
