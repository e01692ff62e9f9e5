"""Bundle the function without Docker: our package plus the exact Powertools and boto3 that the tests ran.

The distributions are copied from this Python environment, file by file as their RECORD lists
them, so the version deployed is the version pinned in requirements.txt and installed here.
All of them are pure Python, so a copy made on x86_64 runs on the arm64 function.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

# Powertools and what it imports at run time; and boto3 with botocore and their dependencies. The
# runtime has its own boto3, but botocore silently drops response fields its model does not know:
# an older runtime model would turn off referrer protection (subjectManifestDigest), archived images
# (imageStatus), pull times and ECS's resolved digests without a word. The tested SDK is the deployed one.
BUNDLED_DISTRIBUTIONS = (
    "aws-lambda-powertools",
    "typing-extensions",
    "jmespath",
    "boto3",
    "botocore",
    "s3transfer",
    "python-dateutil",
    "six",
    "urllib3",
)
FUNCTION_PACKAGE = "ecr_sweeper"


class BundlingError(RuntimeError):
    pass


@jsii.implements(ILocalBundling)
class _LocalBundler:
    def __init__(self, source: Path) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, options: Any) -> bool:
        bundle(self._source, Path(output_dir))
        # Never False: that would make CDK fall back to Docker, which this project never needs.
        return True


def bundle(source: Path, output: Path) -> None:
    shutil.copytree(
        source / FUNCTION_PACKAGE,
        output / FUNCTION_PACKAGE,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    for name in BUNDLED_DISTRIBUTIONS:
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise BundlingError(f"{name} is not installed: run `make dev` before synth") from None
        for file in distribution.files or ():
            relative = Path(str(file))
            if relative.parts[0] == ".." or "__pycache__" in relative.parts or relative.suffix == ".pyc":
                continue
            target = output / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(distribution.locate_file(file))), target)


def function_code(source: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(source),
        bundling=BundlingOptions(
            # Required by the API, never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("unused-local-bundling"),
            # jsii passes the options struct positionally, unlike the generated keyword signature.
            local=_LocalBundler(source),  # type: ignore[arg-type]
        ),
    )
