"""What the project declares: dependency floors that cover the APIs it calls, and the CI checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# (what the source calls, package, first version that has it)
NEEDS = [
    ('torch.amp.GradScaler("cuda"', "torch", (2, 3)),
    ("assign=True", "torch", (2, 1)),  # load_state_dict(..., assign=True)
    ('with torch.device("meta")', "torch", (2, 0)),
    ("weights_only=True", "torch", (1, 13)),
]


def floor(package: str) -> tuple[int, ...]:
    """The ``>=`` bound of ``package`` in pyproject's dependencies (tomllib needs Python 3.11)."""
    found = re.search(rf'^\s*"{package}>=([\d.]+)', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert found, f"{package}: no lower bound in pyproject.toml"
    return tuple(int(part) for part in found.group(1).split("."))


@pytest.mark.parametrize(("call", "package", "since"), NEEDS)
def test_floor_covers_the_calls(call, package, since):
    sources = [p for p in (ROOT / "ttvos").rglob("*.py") if call in p.read_text()]
    if sources:
        assert floor(package) >= since, (
            f"{sources[0].relative_to(ROOT)} calls {call}: needs {package} {since}"
        )


def test_torchvision_floor_matches_torch():
    assert floor("torch") == (2, 3) and floor("torchvision") == (0, 18)  # released together


def test_ci_runs_the_linter_and_the_formatter_check():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make lint" in ci and "make test" in ci
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert lint and "ruff check ttvos tests" in lint.group(1)
    assert "ruff format --check ttvos tests" in lint.group(1)
