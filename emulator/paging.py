"""One page of a listing, with an opaque token bound to what it lists: how the AWS APIs the emulator
corrects page (ECR, ECS, Batch, SageMaker). A token from another listing, or a forged one, is refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def page(
    items: Sequence[T], size: int, token: str | None, scope: str, invalid: Callable[[], Exception]
) -> tuple[list[T], str | None]:
    """`items[start:start + size]` after `token`, and the token of the next page (None at the end).
    `invalid()` builds the service's own error for a token it did not issue for `scope`."""
    start = 0
    if token:
        try:
            decoded: Any = json.loads(base64.b64decode(token))
            if decoded["scope"] != scope:
                raise ValueError(scope)
            start = int(decoded["offset"])
        except (ValueError, KeyError, TypeError):
            raise invalid() from None
    end = start + size
    following = (
        base64.b64encode(json.dumps({"scope": scope, "offset": end}).encode()).decode() if end < len(items) else None
    )
    return list(items[start:end]), following
