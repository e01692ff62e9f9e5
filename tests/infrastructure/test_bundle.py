"""The function's bundle: the Powertools and the boto3/botocore the tests ran are the ones deployed, and it
imports alone. botocore silently drops response fields its model does not know, so the runtime's own
(possibly older) SDK must not be the one that reads ECR and ECS."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import boto3

from infra.app import ROOT

# What the Lambda Python runtime provides besides the standard library: boto3 and its dependencies.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py", "urllib3")


def pinned(name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert match, f"{name} is not pinned in requirements.txt"
    return match.group(1)


def test_powertools_pin_installed_and_bundled_agree(asset_dir: Path) -> None:
    # Given the Powertools version pinned in requirements.txt
    pin = pinned("aws-lambda-powertools")

    # Then it is the version installed
    assert metadata.version("aws-lambda-powertools") == pin
    # And the bundle holds that version, with its dist-info
    version_file = (asset_dir / "aws_lambda_powertools/shared/version.py").read_text()
    assert f'VERSION = "{pin}"' in version_file
    assert (asset_dir / f"aws_lambda_powertools-{pin}.dist-info").is_dir()


def test_bundle_holds_the_function_package_and_no_caches(asset_dir: Path) -> None:
    # Given the function's bundle
    # Then it holds the function package, and no cache, compiled extension or tests
    assert (asset_dir / "ecr_sweeper/handler.py").is_file()
    assert not list(asset_dir.rglob("__pycache__"))
    assert not list(asset_dir.rglob("*.so")), "a compiled extension would not run on arm64"
    assert not (asset_dir / "tests").exists()


def test_bundle_imports_with_only_what_the_lambda_runtime_provides(asset_dir: Path, tmp_path: Path) -> None:
    # Given a stand-in runtime of only the packages the Lambda runtime provides besides the standard library
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(boto3.__file__).parent.parent
    for name in RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site / name)

    # When the bundle is imported in a Python without site-packages, and checks its SDK's models
    # -S: no site-packages; only the bundle, the stand-in runtime packages and the standard library.
    probe = (
        f"import sys; sys.path[:0] = [{str(asset_dir)!r}, {str(runtime)!r}]; "
        "import ecr_sweeper.faces.function as h; import aws_lambda_powertools as p; import botocore as b; "
        "from ecr_sweeper.aws.clients import require_models; require_models(); "
        "print(h.lambda_handler.__name__, p.__file__, b.__file__, b.__version__)"
    )
    result = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=False)

    # Then it imports, and the handler and Powertools are the bundle's
    assert result.returncode == 0, result.stderr
    handler, powertools, botocore_file, botocore_version = result.stdout.split()
    assert handler == "lambda_handler"
    assert powertools.startswith(str(asset_dir))
    # The bundled botocore wins over the runtime's: its models are the ones the tests ran.
    assert botocore_file.startswith(str(asset_dir)) and botocore_version == pinned("botocore")


def test_boto3_and_botocore_pins_installed_and_bundled_agree(asset_dir: Path) -> None:
    # Given the boto3 and botocore versions pinned in requirements.txt
    # Then each is the version installed, and the bundle holds it with its dist-info
    for name, package in (("boto3", "boto3"), ("botocore", "botocore")):
        pin = pinned(name)
        assert metadata.version(name) == pin
        assert (asset_dir / f"{package}-{pin}.dist-info").is_dir()
    # And the bundle holds botocore's ECR model
    assert (asset_dir / "botocore/data/ecr/2015-09-21/service-2.json").is_file() or list(
        (asset_dir / "botocore/data/ecr/2015-09-21").glob("service-2.json*")
    )
