"""Error answers as the API server writes them: a `metav1.Status` body (k8s.io/apimachinery/pkg/api/errors), e.g.
`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",
"reason":"Unauthorized","code":401}`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    # The API server's Gone for lists is a compacted continue token or resourceVersion: StatusReasonExpired.
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass
class Answer:
    """One response: its HTTP status, its JSON body, and any extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Problem(Exception):
    """Raised while a request is answered: the Status answer it gets instead."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.answer = failure(status, message, details)


def failure(code: int, message: str, details: dict[str, Any] | None = None) -> Answer:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": REASONS.get(code, ""),
        "code": code,
    }
    if details is not None:
        body["details"] = details
    headers: dict[str, str] = {}
    if code == 429:
        # The API server's priority-and-fairness rejection: a Retry-After header and its twin in details.
        body["details"] = {**(details or {}), "retryAfterSeconds": 1}
        headers["Retry-After"] = "1"
    return Answer(code, body, headers)
