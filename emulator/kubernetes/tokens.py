"""Bearer tokens as `aws eks get-token` makes them (`k8s-aws-v1.` + unpadded base64url of a presigned STS
GetCallerIdentity URL), checked for form as aws-iam-authenticator's `pkg/token/token.go` (`Verify`) checks
them before it asks STS; and the Kubernetes user an accepted token stands for."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

DEFAULT_ACCOUNT = "123456789012"
# The sweeper's role session (emulator/identity.py), as EKS names an assumed role's Kubernetes user.
DEFAULT_USER = f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/ecr-sweeper-FunctionRole/ecr-sweeper"

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
MAX_TOKEN_BYTES = 4096
# awscli and aws-iam-authenticator both presign with 60 s, the most authenticators up to 0.3.0 accepted. Today's
# authenticator accepts 0..900 ("between 0 and 15 minutes", pkg/token/token.go), its documented maximum, because a
# presigned STS URL is valid 15 minutes after X-Amz-Date whatever X-Amz-Expires says. Anything above 60 means
# a client that is not building the token as awscli does.
MAX_PRESIGN_EXPIRES = 60
TOKEN_LIFETIME = timedelta(minutes=15)
_TOKEN_PARAMETERS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
_STS_HOST = re.compile(r"sts(\.[a-z]{2}(-[a-z]+)+-\d+)?\.amazonaws\.com")
# Go's RawURLEncoding alphabet (unpadded base64url): of bearer tokens, and of continue tokens (paging.py).
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_CREDENTIAL = re.compile(r"[^/]+/\d{8}/[a-z0-9-]+/sts/aws4_request")


def token_error(authorization: str | None, *, now: datetime | None = None, lifetime: timedelta = TOKEN_LIFETIME) -> str:
    """Why an `Authorization` header is no EKS token ("" if it is one), checked as aws-iam-authenticator does
    before it asks STS."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return "no bearer token"
    if len(token) > MAX_TOKEN_BYTES:
        return "token is too large"
    if not token.startswith(TOKEN_PREFIX):
        return f"token is missing expected {TOKEN_PREFIX!r} prefix"
    encoded = token.removeprefix(TOKEN_PREFIX)
    # Go's RawURLEncoding: URL alphabet, no padding. Python's urlsafe_b64decode would skip stray characters.
    if not BASE64URL.fullmatch(encoded) or len(encoded) % 4 == 1:
        return "token is not unpadded base64url"
    try:
        url = base64.b64decode(encoded.translate(str.maketrans("-_", "+/")) + "=" * (-len(encoded) % 4)).decode()
        parts = urlsplit(url)
        host = parts.hostname
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "token is not a URL"
    if parts.scheme != "https":
        return f"unexpected scheme {parts.scheme!r} in pre-signed URL"
    if host is None or parts.port is not None or not _STS_HOST.fullmatch(host):
        return f"unexpected hostname {parts.netloc!r} in pre-signed URL"
    if parts.path != "/":
        return "unexpected path in pre-signed URL"
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return "malformed query parameter"
    query: dict[str, str] = {}
    for key, value in pairs:
        if key.lower() not in _TOKEN_PARAMETERS:
            return f"non-whitelisted query parameter {key!r}"
        if key.lower() in query:
            return "query parameter with multiple values not supported"
        query[key.lower()] = value
    expected = {"action": "GetCallerIdentity", "version": "2011-06-15", "x-amz-algorithm": "AWS4-HMAC-SHA256"}
    for key, value in expected.items():
        if query.get(key) != value:
            return f"unexpected {key} parameter in pre-signed URL: {query.get(key)!r}"
    if not _CREDENTIAL.fullmatch(query.get("x-amz-credential", "")):
        return "malformed X-Amz-Credential parameter in pre-signed URL"
    if not re.fullmatch(r"[0-9a-f]{64}", query.get("x-amz-signature", "")):
        return "malformed X-Amz-Signature parameter in pre-signed URL"
    signed = {header.lower() for header in query.get("x-amz-signedheaders", "").split(";")}
    if not {"host", CLUSTER_ID_HEADER} <= signed:
        return f"client did not sign the host and {CLUSTER_ID_HEADER} headers in the pre-signed URL"
    expires = query.get("x-amz-expires", "")
    if not expires.isdigit() or int(expires) > MAX_PRESIGN_EXPIRES:
        return f"invalid X-Amz-Expires parameter in pre-signed URL: {expires!r}"
    try:
        signed_at = datetime.strptime(query.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "X-Amz-Date parameter must be present in pre-signed URL"
    if (now or datetime.now(timezone.utc)) > signed_at + lifetime:
        return f"X-Amz-Date parameter is expired ({lifetime.total_seconds() / 60:.0f} minute expiration)"
    return ""
