"""The license is stated where users and packagers look for it."""

from __future__ import annotations

import tomllib

from infra.app import ROOT


def test_apache_2_in_the_license_file_the_package_metadata_and_the_readme() -> None:
    # Given the LICENSE file, the package metadata in pyproject.toml and the README
    # Then the LICENSE file is the Apache License, Version 2.0
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert "Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()[:200]
    # And the package metadata names Apache-2.0 and the LICENSE file
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    # And the README states the license and its file
    assert "Apache License 2.0 (`LICENSE`)" in (ROOT / "README.md").read_text()
