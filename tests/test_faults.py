"""A run killed (SIGKILL) while reading, scrubbing, validating or writing the report leaves the night that was
published before it whole and consistent across datasets and report, shows readers nothing partial, keeps its
staging private, and the next run publishes exactly what an uninterrupted run publishes. (Kills at every
change publish makes are in test_publish.py.)"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from support import DS, Night, published_bytes, readers_see, scrubline

from pipeline.demo import generate_night
from pipeline.policy import default_policy_path
from pipeline.pseudonym import KEY_ENV

pytestmark = pytest.mark.e2e
KILLPOINTS = str(Path(__file__).with_name("killpoints.py"))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Night:
    root = tmp_path_factory.mktemp("faults")
    generate_night(root / "raw", DS, employees=3, seed=11)
    key = root / "hmac.key"
    key.write_text("0123456789abcdef" * 4)
    key.chmod(0o600)
    return Night(raw=root / "raw", key_file=key)


def args(night: Night, clean: Path, *extra: str) -> list[str]:
    return ["run", "--ds", DS, "--raw", str(night.raw), "--clean", str(clean), "--key-file", str(night.key_file),
            "--workers", "1", "--quarantine", str(clean.parent / "quarantine"), *extra]


def killed_at(phase: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, KILLPOINTS, "cli", phase, *argv], capture_output=True, text=True,
                          env=env, check=False)


def test_a_run_killed_in_any_phase_leaves_the_previous_night_whole(small: Night, tmp_path: Path) -> None:
    hourly = yaml.safe_load(default_policy_path().read_text())
    hourly["output"]["timestamp_granularity"] = "hour"  # the earlier night differs from the new one in every shard
    policy = tmp_path / "hourly.yaml"
    policy.write_text(yaml.safe_dump(hourly))
    clean = tmp_path / "clean"
    assert scrubline(*args(small, clean, "--policy", str(policy))).returncode == 0
    earlier = published_bytes(clean)
    text = pd.read_parquet(clean / "text" / f"ds={DS}")
    assert (text["ts"].dt.minute == 0).all() and (text["ts"].dt.second == 0).all(), "output.timestamp_granularity"

    reference = tmp_path / "reference"
    assert scrubline(*args(small, reference)).returncode == 0
    expected = published_bytes(reference)
    assert expected != earlier and (pd.read_parquet(reference / "text")["ts"].dt.minute != 0).any()

    staging = Path(f"{clean}.staging")
    for phase in ("reading", "scrubbing", "validating", "report"):
        killed = killed_at(phase, args(small, clean))
        assert killed.returncode == -9, (phase, killed.stderr[-3000:])
        assert published_bytes(clean) == earlier, f"killed while {phase}: the published night changed"
        assert readers_see(clean, "text") > 0 and readers_see(clean, "events") > 0
        assert not list(clean.rglob(".incoming-*")), "nothing half-moved under the clean root"
        left = [staging, *staging.rglob("*")]
        assert len(left) > 1, f"killed while {phase}: the staging folder is left (and sealed)"
        for path in left:
            assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), (phase, path)
        assert not staging.is_relative_to(clean)
    if (staging / f"ds={DS}" / "night" / "text").exists():
        assert list((staging / f"ds={DS}" / "night" / "text").glob("train-*.parquet")), "validated shards sit in staging"
    result = scrubline(*args(small, clean))
    assert result.returncode == 0, result.stderr[-3000:]
    assert published_bytes(clean) == expected, "the rerun publishes the uninterrupted run's bytes"
    assert not (staging / f"ds={DS}").exists()
    shutil.rmtree(reference)
