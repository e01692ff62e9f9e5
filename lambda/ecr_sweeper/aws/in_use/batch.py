"""AWS Batch: job definitions that are ACTIVE and name a digest."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ecr_sweeper.aws.in_use.calls import Source
from ecr_sweeper.core.model import Protection

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient


def scan_batch(source: Source[BatchClient]) -> None:
    for definition in source.pages("describe_job_definitions", "jobDefinitions", status="ACTIVE"):
        use = source.use(Protection.BATCH, definition["jobDefinitionArn"])
        # Images sit in containerProperties, nodeProperties.nodeRangeProperties[] (container,
        # ecsProperties, eksProperties), ecsProperties.taskProperties[].containers[] and
        # eksProperties.podProperties (containers, initContainers): every "image" member of them.
        for key in ("containerProperties", "nodeProperties", "ecsProperties", "eksProperties"):
            for image in _values_of("image", definition.get(key)):
                source.in_use.add_reference(image, use)


def _values_of(key: str, tree: Any) -> Iterator[str]:
    if isinstance(tree, Mapping):
        for name, value in tree.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from _values_of(key, value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _values_of(key, item)
