"""The wheel users install contains every module and the bundled configs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contains_all_modules_and_configs(tmp_path):
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*command, "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("ttvos-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "ttvos").rglob("*.py")}
    missing = sorted(modules - names)
    assert not missing, f"missing from the wheel: {missing} (list the package in pyproject.toml)"
    configs = {f"ttvos/configs/{p.name}" for p in (REPO / "configs").glob("*.yaml")}
    assert configs and configs <= names
