"""SageMaker: models (PrimaryContainer, Containers[]) and the model packages they are built from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecr_sweeper.aws.in_use.calls import Source
from ecr_sweeper.aws.in_use.fanout import Once
from ecr_sweeper.core.model import Protection

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


def scan_sagemaker(source: Source[SageMakerClient]) -> None:
    once: Once[str, list[dict[str, Any]]] = Once()

    def packaged(package: str) -> list[dict[str, Any]]:
        # A model built from a model package runs the package's images (InferenceSpecification).
        described = source.call("describe_model_package", ModelPackageName=package) or {}
        return list(described.get("InferenceSpecification", {}).get("Containers", []))

    summaries = list(source.pages("list_models", "Models"))
    models = source.each(summaries, lambda summary: source.call("describe_model", ModelName=summary["ModelName"]))
    packages = list(
        dict.fromkeys(
            container["ModelPackageName"]
            for model in models
            if model is not None
            for container in _containers(model)
            if container.get("ModelPackageName") and not container.get("Image")
        )
    )
    images = dict(zip(packages, source.each(packages, lambda p: once.get(p, lambda: packaged(p))), strict=True))
    for summary, model in zip(summaries, models, strict=True):
        if model is None:
            continue
        use = source.use(Protection.SAGEMAKER, model.get("ModelArn") or summary["ModelArn"])
        for container in _containers(model):
            source.in_use.add_reference(container.get("Image"), use)
            package = container.get("ModelPackageName")
            if package and not container.get("Image"):
                for image in images[package]:
                    source.in_use.add(image.get("ImageDigest"), use)
                    source.in_use.add_reference(image.get("Image"), use)


def _containers(model: dict[str, Any]) -> list[dict[str, Any]]:
    primary = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else []
    return [*primary, *model.get("Containers", [])]
