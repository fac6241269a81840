"""The package as a worker gets it: build the wheel, install it into a fresh virtual environment that cannot see
the source tree, and run `scrubline demo` there. The night must publish, so the Great Expectations suites, policy,
templates, lexicons and model all came from the installed package data, and the shipped DAG file is the repo's
and runs under Airflow from there (`scrubline demo --airflow`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from support import DS, readers_see
from support import manifest as dataset_manifest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
# What a checkout holds at its top that is not the package's source (and caches anywhere): never copied.
TOP_LEVEL_SKIP = {".git", ".venv", "demo", "build", "dist", ".pytest_cache", ".hypothesis"}


def _not_source(folder: str, names: list[str]) -> list[str]:
    top = Path(folder) == REPO
    return [n for n in names if (top and n in TOP_LEVEL_SKIP) or n == "__pycache__" or n.endswith(".egg-info")]


def _clean_env() -> dict[str, str]:
    """This environment less anything that would put the source tree (or another install) on the path."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}}
    env["GX_ANALYTICS_ENABLED"] = "False"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel; its dependencies come from this test's environment through a
    .pth line naming those site-packages (a plain path line: the editable install's own .pth there is not run)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=_not_source, symlinks=True)  # the build never writes into the checkout
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(root / "dist"), str(source)],
                   check=True, capture_output=True, text=True, env=_clean_env())
    (wheel,) = (root / "dist").glob("scrubline-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    # Installed before the dependencies are visible, so pip sees an environment without any scrubline in it.
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                   check=True, capture_output=True, text=True, env=_clean_env())
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    deps = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site / "_scrubline_test_dependencies.pth").write_text("".join(f"{d}\n" for d in deps))
    # The one dependency command the package runs (`airflow`, behind `scrubline demo --airflow`), as pip would
    # have written it had Airflow been installed into this environment.
    airflow = venv / "bin" / "airflow"
    airflow.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom airflow.__main__ import main\nsys.exit(main())\n")
    airflow.chmod(0o755)
    return venv


def _python(venv: Path, code: str, cwd: Path) -> str:
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=cwd, env=_clean_env(),
                          check=True, capture_output=True, text=True).stdout.strip()


def test_the_installed_package_is_not_the_source_tree(installed: Path, tmp_path: Path) -> None:
    found = json.loads(_python(installed, (
        "import json, sys, pipeline, pipeline.validate as v, pipeline.airflow_local as a, pipeline.policy as p;"
        "print(json.dumps({'package': pipeline.__file__, 'suites': str(v.SUITES), 'dag': str(a.DAG_FILE),"
        " 'policy': str(p.default_policy_path()), 'path': sys.path}))"), tmp_path))
    for key in ("package", "suites", "dag", "policy"):
        assert Path(found[key]).resolve().is_relative_to(installed.resolve()), (key, found[key])
    assert not any(Path(entry).resolve() == REPO for entry in found["path"] if entry), "the source tree is importable"
    assert _python(installed, "import importlib.util; print(importlib.util.find_spec('dags'))", tmp_path) == "None"


def test_scrubline_dag_ships_the_repos_dag_file(installed: Path, tmp_path: Path) -> None:
    scrubline = str(installed / "bin" / "scrubline")
    shipped = Path(subprocess.run([scrubline, "dag"], cwd=tmp_path, env=_clean_env(), check=True,
                                  capture_output=True, text=True).stdout.strip())
    assert shipped.resolve().is_relative_to(installed.resolve()) and not shipped.is_symlink()
    assert shipped.read_bytes() == (REPO / "dags" / "privacy_scrub.py").read_bytes()
    dags = tmp_path / "dags"
    dags.mkdir()
    copied = subprocess.run([scrubline, "dag", "--copy-to", str(dags)], cwd=tmp_path, env=_clean_env(), check=True,
                            capture_output=True, text=True).stdout.strip()
    assert Path(copied) == dags / "privacy_scrub.py" and Path(copied).read_bytes() == shipped.read_bytes()
    missing = subprocess.run([scrubline, "dag", "--copy-to", str(tmp_path / "absent")], cwd=tmp_path, env=_clean_env(),
                             capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "is not an existing folder" in missing.stderr


def test_scrubline_demo_publishes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(installed / "bin" / "scrubline"), "demo", "--no-progress"], cwd=tmp_path,
                            env=_clean_env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    clean = tmp_path / "demo" / "clean"
    for dataset in ("text", "events"):
        manifest = dataset_manifest(clean, dataset)  # the reader rule: current, _SUCCESS, the manifest
        assert manifest["validation"]["success"] and manifest["validation"]["evaluated"] > 0
        assert readers_see(clean, dataset) == manifest["rows"] > 0
    assert (clean / "_reports" / f"ds={DS}" / "report.html").exists()


def test_the_shipped_dag_publishes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(installed / "bin" / "scrubline"), "demo", "--airflow", "--employees", "8"],
                            cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=900)
    log = tmp_path / "demo" / "airflow" / "dags_test.log"
    assert result.returncode == 0, (log.read_text()[-3000:] if log.exists() else result.stderr[-3000:])
    assert f"{installed.resolve()}" in log.read_text(), "Airflow parsed the DAG file inside the installed package"
    clean = tmp_path / "demo" / "clean"
    assert readers_see(clean, "text") > 0 and readers_see(clean, "events") > 0
