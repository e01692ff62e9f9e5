"""moto's Lambda and ECS, corrected where the sweeper reads them (image digests in use).

- Lambda resolves an image tag to a digest when a function's code is set, and reports that digest
  as Code.ResolvedImageUri (Lambda API reference, FunctionCodeLocation). moto makes up a digest
  from the URI text, and mangles URIs that are already by digest.
- ECS reports the digest each running container was started from as containers[].imageDigest
  (ECS API reference, Container). moto leaves it out.
"""

from __future__ import annotations

import re
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.ecr.models import ecr_backends
from moto.ecs import models as ecs_models

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


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    LambdaFunction._set_function_code = _set_function_code(LambdaFunction._set_function_code)
    LambdaFunction.get_code = _get_code(LambdaFunction.get_code)
    ecs_models.Container.__init__ = _container_init(ecs_models.Container.__init__)
    _installed = True
