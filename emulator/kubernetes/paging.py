"""Lists in chunks, as the API server's etcd3 store pages them (the Kubernetes API concepts page,
"Retrieving large results sets in chunks", https://kubernetes.io/docs/reference/using-api/api-concepts/;
k8s.io/apiserver/pkg/storage: `EncodeContinue`/`DecodeContinue`, and `GetList`).

Pages run in key order (namespace, then name) from one snapshot, the revision of the first page, so objects added
or deleted between pages do not show; `remainingItemCount` comes with every `continue`. A continue token has the
API server's own form (unpadded base64url of `{"v":"meta.k8s.io/v1","rv":<revision>,"start":<key after the last
item>}`); one it cannot decode answers 400 BadRequest "invalid continue token: ...", one whose revision was
compacted 410 Gone, reason `Expired`, with no inconsistent continue token in its metadata.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from emulator.kubernetes.status import Problem
from emulator.kubernetes.store import Resource, Store
from emulator.kubernetes.tokens import BASE64URL

EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list"
    " without the continue parameter, or use the continue token in this response to retrieve the remainder of the"
    " results. Continuing with the provided token results in an inconsistent list - objects that were created,"
    " modified, or deleted between the time the first chunk was returned and now may show up in the list."
)


def list_page(store: Store, resource: Resource, namespace: str | None, query: dict[str, list[str]]) -> dict[str, Any]:
    """The answer to one list request: one page, from the snapshot its continue token names (or the latest)."""
    for unsupported in ("labelSelector", "fieldSelector", "watch"):
        if query.get(unsupported, [""])[0]:
            raise Problem(400, f"the Kubernetes API stand-in does not implement {unsupported}")
    limit_text = query.get("limit", [""])[0]
    try:
        limit = int(limit_text) if limit_text else 0
    except ValueError:
        raise Problem(400, f'strconv.ParseInt: parsing "{limit_text}": invalid syntax') from None
    token = query.get("continue", [""])[0]
    prefix = f"{namespace}/" if namespace else ""
    with store.lock:
        if token:
            if query.get("resourceVersion", [""])[0] not in ("", "0"):
                raise Problem(400, "specifying resource version is not allowed when using continue")
            revision, start = decode_continue(token)
            if revision < store.compacted:
                raise Problem(410, EXPIRED_MESSAGE)
        else:
            revision, start = store.revision, ""
        versions = sorted(
            (
                v
                for v in store.versions[resource.plural]
                if v.alive_at(revision) and v.key.startswith(prefix) and v.key[len(prefix) :] >= start
            ),
            key=lambda v: v.key,
        )
        page = versions[:limit] if limit > 0 else versions
        rest = len(versions) - len(page)
        items = [
            {k: v for k, v in copy.deepcopy(version.obj).items() if k not in ("kind", "apiVersion")} for version in page
        ]
    metadata: dict[str, Any] = {"resourceVersion": str(revision)}
    if rest:
        metadata["continue"] = encode_continue(revision, page[-1].key[len(prefix) :] + "\x00")
        metadata["remainingItemCount"] = rest
    return {
        "kind": f"{resource.kind}List",
        "apiVersion": resource.api_version,
        "metadata": metadata,
        "items": items,
    }


def encode_continue(revision: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """The revision and start key of a continue token, or the API server's 400 for one it cannot decode."""
    try:
        if not BASE64URL.fullmatch(token):
            raise ValueError("illegal base64 data")
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (ValueError, binascii.Error) as error:
        raise Problem(400, f"invalid continue token: continue key is not valid: {error}") from None
    version, revision, start = data.get("v"), data.get("rv"), data.get("start")
    if version != "meta.k8s.io/v1":
        raise Problem(
            400, "invalid continue token: continue key is not valid: server does not recognize this encoded version"
        )
    if not isinstance(revision, int) or revision == 0:
        raise Problem(
            400,
            "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion"
            " (version meta.k8s.io/v1)",
        )
    if not isinstance(start, str) or not start:
        raise Problem(
            400, "invalid continue token: continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"
        )
    if ".." in start.split("/") or start.startswith("/"):
        raise Problem(400, "invalid continue token: continue key is not valid: path traversal attempt detected")
    return revision, start
