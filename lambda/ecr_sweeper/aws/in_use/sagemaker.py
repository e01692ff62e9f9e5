"""SageMaker: models (PrimaryContainer, Containers[]) and the model packages they are built from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecr_sweeper.aws.in_use.calls import Source
from ecr_sweeper.core.model import Protection

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


def scan_sagemaker(source: Source[SageMakerClient]) -> None:
    packages: dict[str, list[dict[str, Any]]] = {}
    for summary in source.pages("list_models", "Models"):
        model = source.call("describe_model", ModelName=summary["ModelName"])
        if model is None:
            continue
        use = source.use(Protection.SAGEMAKER, model.get("ModelArn") or summary["ModelArn"])
        primary = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else []
        containers = [*primary, *model.get("Containers", [])]
        for container in containers:
            source.in_use.add_reference(container.get("Image"), use)
            package = container.get("ModelPackageName")
            if package and not container.get("Image"):
                # A model built from a model package runs the package's images (InferenceSpecification).
                if package not in packages:
                    described = source.call("describe_model_package", ModelPackageName=package) or {}
                    packages[package] = described.get("InferenceSpecification", {}).get("Containers", [])
                for packaged in packages[package]:
                    source.in_use.add(packaged.get("ImageDigest"), use)
                    source.in_use.add_reference(packaged.get("Image"), use)
