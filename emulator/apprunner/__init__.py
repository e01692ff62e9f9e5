"""A stand-in for AWS App Runner's service API, which moto (5.2.5) does not emulate at all.

Source: the botocore service model `apprunner` 2020-05-15
(botocore/data/apprunner/2020-05-15/service-2.json.gz) and the App Runner API reference,
https://docs.aws.amazon.com/apprunner/latest/api/. Member names, required members, limits (read
from the model itself, so they cannot drift from what botocore sends) and error codes follow them.

Operations, JSON 1.0 protocol (`X-Amz-Target: AppRunner.<Operation>`): CreateService,
DescribeService, ListServices, UpdateService, DeleteService. State is per account and region, in
`apprunner_backends` (a moto `BackendDict`), so `mock_aws()` and `/moto-api/reset` clear it.

Public API
- `emulator.install()` registers the service with moto, in-process (`mock_aws`) and for a
  `ThreadedMotoServer` in this process alike (this package's `_install()`).
- `backend(region, account)`: the `AppRunnerBackend` holding that account's services in that region
  (`.services`: ARN -> `AppRunnerService`, whose `image_identifier` is what it runs).
- `AppRunnerResponse`: the request handler. Its methods `create_service`, `describe_service`,
  `list_services`, `update_service` and `delete_service` are plain methods looked up per request,
  so a test makes an operation fail by monkeypatching one::

      def denied(self: AppRunnerResponse) -> ActionResult:
          raise JsonRESTError("AccessDeniedException", "not authorized to perform: apprunner:ListServices")

      monkeypatch.setattr(AppRunnerResponse, "list_services", denied)

  (`moto.core.exceptions.JsonRESTError` carries any code; a `ServiceException` is serialized through
  the App Runner model, which has no AccessDeniedException or ThrottlingException.)

Choices, where the service cannot be copied or the sources disagree
- Operations complete at once: CreateService and UpdateService answer Status RUNNING, DeleteService
  answers DELETED; the service answers OPERATION_IN_PROGRESS and gets there later. Tests want the
  end state, not a wait loop.
- A deleted service is gone for DescribeService, UpdateService and DeleteService
  (ResourceNotFoundException), and its name is free again. The service may still describe it as
  DELETED for a while.
- ListServices without MaxResults answers one page of at most 20 (the model's maximum), although the
  model documents "all available results in a single response": the service answers a page and a
  NextToken (aws/aws-cli#8124, #9399; boto/botocore#3116; aws/aws-sdk#599), and botocore has no
  paginator for it, so callers must follow NextToken themselves. As there, deleted services still
  take their place in a page and are then left out, so a page can be short, even empty, and still
  carry a NextToken. Pages run newest first.
- Validation failures answer InvalidRequestException with the usual "1 validation error detected"
  message: the model declares no ValidationException for these operations. Patterns must match the
  whole value. A malformed ARN is an invalid request; a well-formed unknown one is not found.
- Beyond ServiceName, SourceConfiguration and ServiceArn, members are checked only for being
  structures, then echoed where the Service shape has them (Tags are dropped), never acted on. An
  ECR source is not required to name an AccessRoleArn.

Modules, by job (the names callers use are importable from `emulator.apprunner`)
- `validation`: the model's limits and enums, the two errors, the member checks.
- `models`: `AppRunnerService`, `AppRunnerBackend` (create, describe, list, update, delete), `backend()`.
- `responses`: `AppRunnerResponse`, one method per operation.
- `urls`: `url_bases` and `url_paths`, as moto reads them.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from types import ModuleType

from moto import backend_index

from emulator.apprunner.models import DEFAULT_ACCOUNT, AppRunnerBackend, AppRunnerService, apprunner_backends, backend
from emulator.apprunner.responses import AppRunnerResponse
from emulator.apprunner.urls import URL_BASE
from emulator.apprunner.validation import (
    DEFAULT_CPU,
    DEFAULT_MEMORY,
    DEFAULT_PAGE,
    IMAGE_REPOSITORY_TYPES,
    MAX_PAGE,
    MIN_PAGE,
    MODEL,
    SERVICE,
    InvalidRequestException,
    ResourceNotFoundException,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_CPU",
    "DEFAULT_MEMORY",
    "DEFAULT_PAGE",
    "IMAGE_REPOSITORY_TYPES",
    "MAX_PAGE",
    "MIN_PAGE",
    "MODEL",
    "MOTO_MODULE",
    "SERVICE",
    "URL_BASE",
    "AppRunnerBackend",
    "AppRunnerResponse",
    "AppRunnerService",
    "InvalidRequestException",
    "ResourceNotFoundException",
    "apprunner_backends",
    "backend",
]

# moto resolves a service name to the module `moto.<name>` and its `<name>_backends` attribute.
MOTO_MODULE = f"moto.{SERVICE}"


def _install() -> None:
    """Register App Runner with moto for `mock_aws` and `ThreadedMotoServer`. Called by
    emulator.install(), once, under its lock.

    Both modes find a service the same way: the first entry of `moto.backend_index.backend_url_patterns`
    whose pattern matches the request URL names it (in-process, the AWS URL; served, the host the
    dispatcher derives from the SigV4 credential scope), and `moto.backends.get_backend(name)`
    imports `moto.<name>` and takes its `<name>_backends`. So: one pattern appended to that list (in
    place, as a dispatcher already built holds the same list), and a module registered under
    `moto.apprunner` that holds `apprunner_backends`. No moto function is replaced.
    """
    if MOTO_MODULE in sys.modules or importlib.util.find_spec(MOTO_MODULE) is not None:
        raise RuntimeError(f"{MOTO_MODULE} exists: moto emulates App Runner now, retire emulator/apprunner/")
    shim = ModuleType(MOTO_MODULE, "App Runner stand-in registered by emulator.install().")
    shim.apprunner_backends = apprunner_backends  # type: ignore[attr-defined]
    sys.modules[MOTO_MODULE] = shim
    backend_index.backend_url_patterns.append((SERVICE, re.compile(URL_BASE)))
