"""The wheel `pip install` makes of this repository: the `ecr-sweeper` command and the function's
code, depending only on what they import at run time (boto3, Powertools, rich), never on the CDK
app, the tests or their tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from importlib.metadata import PackageNotFoundError, version

import pytest
from packaging.requirements import Requirement

from infra.app import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel, built once for this module with the venv's own build backend (no download)."""
    # Without build isolation pip builds with whatever the venv holds: say so plainly when that is
    # not what pyproject.toml's [build-system] asks for, rather than with the backend's traceback.
    for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]:
        requirement = Requirement(text)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            pytest.fail(f"the venv lacks {requirement.name}, which [build-system] requires ({text})")
        if not requirement.specifier.contains(installed, prereleases=True):
            pytest.fail(f"the venv has {requirement.name} {installed}, but [build-system] requires {text}")
    out = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the source tree (build/, *.egg-info): build a copy of what the wheel is
    # made of, so that the shared working tree (which other tests bundle) never changes.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "lambda", source / "lambda", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out), source],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    [path] = out.glob("ecr_sweeper-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    [member] = [n for n in wheel.namelist() if n.endswith(f".dist-info/{name}") and n.count("/") == 1]
    return wheel.read(member).decode()


def test_it_requires_only_what_the_code_imports(wheel: zipfile.ZipFile) -> None:
    # Given the wheel's metadata
    metadata = Parser().parsestr(dist_info(wheel, "METADATA"))

    # Then it requires only Powertools, boto3 and rich
    assert sorted(metadata.get_all("Requires-Dist") or []) == ["aws-lambda-powertools", "boto3", "rich"]


def test_it_installs_the_ecr_sweeper_command(wheel: zipfile.ZipFile) -> None:
    # Given the wheel's entry points
    lines = [line.strip() for line in dist_info(wheel, "entry_points.txt").splitlines()]

    # Then it installs the ecr-sweeper command
    assert "[console_scripts]" in lines
    assert "ecr-sweeper = ecr_sweeper.cli:main" in lines


def test_it_holds_only_the_package(wheel: zipfile.ZipFile) -> None:
    # Given the files in the wheel
    names = wheel.namelist()
    [info] = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}

    # Then each is in ecr_sweeper/ or in its dist-info
    strays = [name for name in names if not name.startswith(("ecr_sweeper/", f"{info}/"))]
    assert strays == []
    # And it holds the command line and the handler
    assert "ecr_sweeper/cli.py" in names and "ecr_sweeper/handler.py" in names
