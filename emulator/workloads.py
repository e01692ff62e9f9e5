"""moto's AWS Batch and SageMaker, corrected where the in-use scan reads them.

- Batch DescribeJobDefinitions pages: "maxResults ... can be between 1 and 100", with nextToken
  for the rest (Batch API reference, DescribeJobDefinitions). moto returns everything at once and
  ignores both.
- SageMaker ListModels pages: MaxResults 1..100 and NextToken (SageMaker API reference, ListModels).
  moto returns every model at once. The reference states no default page size; 10 is used here, as
  SageMaker's other List calls document, so that the scan must follow NextToken.
"""

from __future__ import annotations

import json

from moto.batch.responses import BatchResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.sagemaker.responses import SageMakerResponse

from emulator import paging

BATCH_MAX_RESULTS = 100
SAGEMAKER_DEFAULT_RESULTS = 10
SAGEMAKER_MAX_RESULTS = 100


class _BatchClientError(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ClientException", message)


def describe_job_definitions(self: BatchResponse) -> str:
    size = self._get_param("maxResults")
    if size is not None and not 1 <= int(size) <= BATCH_MAX_RESULTS:
        raise _BatchClientError(f"maxResults must be between 1 and {BATCH_MAX_RESULTS}")
    definitions = self.batch_backend.describe_job_definitions(
        self._get_param("jobDefinitionName"), self._get_param("jobDefinitions"), self._get_param("status")
    )
    scope = f"{self._get_param('jobDefinitionName')}:{self._get_param('status')}"
    page, token = paging.page(
        [d.describe() for d in definitions],
        int(size or BATCH_MAX_RESULTS),
        self._get_param("nextToken"),
        scope,
        lambda: _BatchClientError("invalid nextToken"),
    )
    return json.dumps({"jobDefinitions": page, **({"nextToken": token} if token else {})})


class _ValidationException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def list_models(self: SageMakerResponse) -> ActionResult:
    size = self._get_param("MaxResults")
    if size is not None and not 1 <= int(size) <= SAGEMAKER_MAX_RESULTS:
        raise _ValidationException(f"MaxResults must be between 1 and {SAGEMAKER_MAX_RESULTS}")
    models = [model.response_object for model in self.sagemaker_backend.list_models()]
    page, token = paging.page(
        models,
        int(size or SAGEMAKER_DEFAULT_RESULTS),
        self._get_param("NextToken"),
        "models",
        lambda: _ValidationException("invalid NextToken"),
    )
    return ActionResult({"Models": page, **({"NextToken": token} if token else {})})


def _install() -> None:
    """Called by emulator.install(), once, under its lock."""
    BatchResponse.describejobdefinitions = describe_job_definitions
    SageMakerResponse.list_models = list_models
