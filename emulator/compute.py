"""moto's Lambda and ECS, corrected where the sweeper reads them (image digests in use).

- Lambda resolves an image tag to a digest when a function's code is set, and reports that digest
  as Code.ResolvedImageUri (Lambda API reference, FunctionCodeLocation). moto makes up a digest
  from the URI text, and mangles URIs that are already by digest.
- ECS reports the digest each running container was started from as containers[].imageDigest
  (ECS API reference, Container). moto leaves it out.
- A published Lambda version keeps the code it was published with (Lambda developer guide, "Manage
  Lambda function versions": its code is immutable). moto's versions share $LATEST's Code, so an
  update of $LATEST changes the ImageUri of every published version.
- Lambda ListFunctions pages: at most 50 functions (or versions) per response, whatever MaxItems
  (1..10000) asks, and NextMarker for the rest (Lambda API reference, ListFunctions). moto returns
  everything at once.
- `lambda_in_process()` (opt-in): moto runs functions in Docker; here they run in this process.
"""

from __future__ import annotations

import importlib
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.ecr.models import ecr_backends
from moto.ecs import models as ecs_models

from emulator import paging

# ListFunctions: "returns a maximum of 50 items in each response, even if you set the number
# higher"; MaxItems is 1..10000 (Lambda API reference, ListFunctions).
LIST_FUNCTIONS_PAGE = 50
MAX_LIST_ITEMS = 10_000

_ECR_URI = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^@:]+)(?:@(?P<digest>sha256:[0-9a-f]{64})|:(?P<tag>[\w.-]+))?"
)


def resolve(uri: str | None) -> str | None:
    """The digest an ECR image URI points at now in the emulated registry, or None."""
    match = _ECR_URI.fullmatch(uri or "")
    if match is None:
        return None
    if match["digest"]:
        return match["digest"]
    repository = ecr_backends[match["account"]][match["region"]].repositories.get(match["repository"])
    tag = match["tag"] or "latest"
    for image in repository.images if repository else ():
        if tag in image.image_tags:
            return str(image.get_image_digest())
    return None


def _set_function_code(original: Any) -> Any:
    def set_code(self: LambdaFunction, updated_spec: dict[str, Any]) -> None:
        # A copy: the published versions hold the dict $LATEST had when each was published.
        self.code = dict(self.code)
        original(self, updated_spec)
        if "ImageUri" in updated_spec:
            digest = resolve(updated_spec["ImageUri"])
            base = re.split(r"[@:](?=[^/]*$)", updated_spec["ImageUri"])[0]
            self.resolved_image_uri = f"{base}@{digest}" if digest else None

    return set_code


def _get_code(original: Any) -> Any:
    def get_code(self: LambdaFunction) -> dict[str, Any]:
        response: dict[str, Any] = original(self)
        resolved = getattr(self, "resolved_image_uri", None)
        if "ResolvedImageUri" in response.get("Code", {}):
            if resolved:
                response["Code"]["ResolvedImageUri"] = resolved
            else:
                del response["Code"]["ResolvedImageUri"]
        return response

    return get_code


def _container_init(original: Any) -> Any:
    def init(self: Any, task_def: Any) -> None:
        original(self, task_def)
        self.image_digest = resolve(self.image)

    return init


def list_functions(self: LambdaResponse) -> str:
    query = self.querystring
    version = query.get("FunctionVersion", [None])[0]
    asked = int(query.get("MaxItems", [LIST_FUNCTIONS_PAGE])[0])
    if not 1 <= asked <= MAX_LIST_ITEMS:
        raise InvalidParameterValueException(f"MaxItems must be between 1 and {MAX_LIST_ITEMS}")
    functions, marker = paging.page(
        list(self.backend.list_functions(version)),
        min(asked, LIST_FUNCTIONS_PAGE),
        query.get("Marker", [None])[0],
        f"functions:{version}",
        lambda: InvalidParameterValueException("invalid Marker"),
    )
    result: dict[str, Any] = {"Functions": [function.get_configuration() for function in functions]}
    if marker:
        result["NextMarker"] = marker
    return json.dumps(result)


def _install() -> None:
    """Called by emulator.install(), once, under its lock (each patch wraps the method it replaces)."""
    LambdaFunction._set_function_code = _set_function_code(LambdaFunction._set_function_code)
    LambdaFunction.get_code = _get_code(LambdaFunction.get_code)
    ecs_models.Container.__init__ = _container_init(ecs_models.Container.__init__)
    LambdaResponse.list_functions = list_functions


@contextmanager
def lambda_in_process() -> Iterator[list[dict[str, Any]]]:
    """Run Zip functions' handlers in this process when invoked (moto needs Docker to run them,
    and this machine has no Docker engine). Yields the list of events the functions received."""
    received: list[dict[str, Any]] = []
    original = LambdaFunction._invoke_lambda

    def invoke(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        payload = json.loads(event) if isinstance(event, str) else event
        received.append(payload)
        module_name, _, function_name = self.handler.rpartition(".")
        function = getattr(importlib.import_module(module_name), function_name)
        context = SimpleNamespace(
            aws_request_id=str(uuid.uuid4()),
            function_name=self.function_name,
            invoked_function_arn=self.function_arn,
            memory_limit_in_mb=self.memory_size,
            get_remaining_time_in_millis=lambda: 900_000,
        )
        try:
            return json.dumps(function(payload, context)), False, ""
        except Exception as error:  # noqa: BLE001 - reported as Lambda reports a function error
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}), True, ""

    LambdaFunction._invoke_lambda = invoke
    try:
        yield received
    finally:
        LambdaFunction._invoke_lambda = original
