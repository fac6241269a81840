"""`output.publish: on_signoff`: a night is committed whole but no reader sees it until a reviewer approves that
version. Readers are the real ones (pandas, pyarrow, polars, DuckDB, Hugging Face `datasets`) and the documented
completeness rule (resolve `current`, `_SUCCESS`, `_night.json`); the nights are committed by the real publish
step (tests/test_readers.py's helper) and, at the end, scrubbed and signed through the real CLI."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as pads
import pytest
from support import DS, Night, readers_see, run_night, scrubline
from support import manifest as manifest_of
from test_readers import DATASETS, _publish

from pipeline import signoff
from pipeline.contracts import TEXT_DATASET
from pipeline.files import read_json
from pipeline.policy import Policy, PolicyError, default_policy_path, load_policy
from pipeline.publish import PublishError, current_version, held_version, nights_dir, release_held
from pipeline.signoff import APPROVE, REJECT, SignoffError

EARLIER, NIGHT = "2026-11-25", DS


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """An earlier night published as usual, then NIGHT committed and held for sign-off."""
    root = tmp_path / "clean"
    _publish(tmp_path, root, EARLIER, 20)
    _publish(tmp_path, root, NIGHT, 30, hold=True)
    return root


def expected(clean: Path, versions: dict[str, str], dataset: str) -> dict[tuple[str, str], int]:
    """Rows per (ds, split) the given versions' manifests count."""
    out = {}
    for ds, version in versions.items():
        for split, rows in read_json(nights_dir(clean, ds) / version / dataset / "_manifest.json")["splits"].items():
            out[(ds, split)] = rows
    return out


def seen(clean: Path, dataset: str, hf: Any, cache: Path) -> dict[tuple[str, str], int]:
    """Rows per (ds, split) as every reader reads `<clean>/<dataset>` (they must agree); Hugging Face reads
    the `text` dataset both from its folder and through the card, with a fresh cache each time."""
    views = []
    lazy = pl.scan_parquet(f"{clean}/{dataset}/", hive_partitioning=True).collect()
    views.append({(r["ds"], r["split"]): r["len"] for r in lazy.group_by("ds", "split").len().to_dicts()})
    views.append(pd.read_parquet(clean / dataset).groupby(["ds", "split"], observed=True).size().to_dict())
    table = pads.dataset(clean / dataset).to_table()
    views.append(dict(Counter(zip(table["ds"].to_pylist(), table["split"].to_pylist(), strict=True))))
    rows = duckdb.sql(f"select ds::varchar, split, count(*) from read_parquet('{clean}/{dataset}/*/*.parquet') "
                      "group by all").fetchall()
    views.append({(ds, split): n for ds, split, n in rows})
    if dataset == TEXT_DATASET:
        n = len(list(cache.glob("hf-*")))
        for loaded in (hf.load_dataset("parquet", data_dir=str(clean / dataset), cache_dir=str(cache / f"hf-{n}")),
                       hf.load_dataset(str(clean), dataset, cache_dir=str(cache / f"hf-{n + 1}"))):
            views.append(dict(Counter((ds, split) for split in loaded for ds in loaded[split]["ds"])))
    assert all(view == views[0] for view in views), views
    return views[0]


def by_the_rule(clean: Path, ds: str) -> str | None:
    """The version docs/contracts.md's completeness rule reads: `current` resolved once, `_SUCCESS` there."""
    target = Path(os.path.realpath(nights_dir(clean, ds) / "current"))
    return read_json(target / "_night.json")["version"] if (target / "_SUCCESS").exists() else None


def in_card(clean: Path, ds: str) -> bool:
    return f"| {ds} |" in (clean / "README.md").read_text()


def visible(clean: Path, versions: dict[str, str], hf: Any, cache: Path) -> None:
    """Exactly `versions` ({ds: version}) are what every reader, the rule, the card and `_reports` show."""
    for dataset in DATASETS:
        assert seen(clean, dataset, hf, cache) == expected(clean, versions, dataset), dataset
    for ds in (EARLIER, NIGHT):
        assert by_the_rule(clean, ds) == versions.get(ds)
        assert in_card(clean, ds) == (ds in versions)
        assert (clean / "_reports" / f"ds={ds}").exists() == (ds in versions)
        assert (clean / TEXT_DATASET / f"ds={ds}").exists() == (ds in versions)


def test_a_held_night_is_committed_but_no_reader_sees_it_until_approved(clean: Path, offline_hf: Any, tmp_path: Path) -> None:
    earlier, version = current_version(clean, EARLIER), held_version(clean, NIGHT)
    assert earlier and version and current_version(clean, NIGHT) is None
    held = nights_dir(clean, NIGHT) / version
    assert (held / "_SUCCESS").exists() and read_json(held / "_night.json")["version"] == version, "committed whole"
    assert not (nights_dir(clean, NIGHT) / "current").exists()
    view = os.readlink(clean / "_published")
    visible(clean, {EARLIER: earlier}, offline_hf, tmp_path)

    entry, released = signoff.sign(clean, NIGHT, "Dana Reviewer", APPROVE, DATASETS)
    assert released == version == entry["version"] and held_version(clean, NIGHT) is None
    assert not (nights_dir(clean, NIGHT) / "held").exists() and os.readlink(clean / "_published") != view
    visible(clean, {EARLIER: earlier, NIGHT: version}, offline_hf, tmp_path)
    assert signoff.status(clean, NIGHT)["current"] is True


def test_a_rejected_night_stays_hidden_and_a_later_approval_publishes_it(clean: Path, offline_hf: Any, tmp_path: Path) -> None:
    earlier, version = current_version(clean, EARLIER), held_version(clean, NIGHT)
    entry, released = signoff.sign(clean, NIGHT, "Lee Second", REJECT, DATASETS, reason="a name in the sample")
    assert released is None and entry["decision"] == REJECT and held_version(clean, NIGHT) == version
    visible(clean, {EARLIER: earlier}, offline_hf, tmp_path)
    assert signoff.summary(signoff.status(clean, NIGHT)) == "REJECTED by Lee Second"

    _, released = signoff.sign(clean, NIGHT, "Dana Reviewer", APPROVE, DATASETS)
    assert released == version
    visible(clean, {EARLIER: earlier, NIGHT: version}, offline_hf, tmp_path)
    assert [e["decision"] for e in signoff.read_log(signoff.log_path(clean, NIGHT))] == [REJECT, APPROVE]


def test_an_approval_of_an_earlier_version_never_publishes_a_rerun(clean: Path, offline_hf: Any, tmp_path: Path) -> None:
    earlier, first = current_version(clean, EARLIER), held_version(clean, NIGHT)
    pending = signoff.record(clean, NIGHT, "Dana Reviewer", APPROVE)  # signed; a re-run comes in before it publishes
    assert pending["version"] == first

    rerun = _publish(tmp_path, clean, NIGHT, 40, hold=True)  # other rows: another version, held in its place
    assert rerun != first and held_version(clean, NIGHT) == rerun and current_version(clean, NIGHT) is None
    with pytest.raises(PublishError, match="not the one approved"):
        release_held(clean, NIGHT, DATASETS, pending["manifest_sha256"], 0o640, 0o750)
    with pytest.raises(SignoffError, match=f"the version to sign is {rerun}, not {first}"):
        signoff.sign(clean, NIGHT, "Dana Reviewer", APPROVE, DATASETS, version=first)  # what the reviewer read
    assert len(signoff.read_log(signoff.log_path(clean, NIGHT))) == 1, "nothing recorded"
    visible(clean, {EARLIER: earlier}, offline_hf, tmp_path)
    state = signoff.status(clean, NIGHT)
    assert (state["decision"], state["version"], state["current"]) == (APPROVE, first, False)
    assert signoff.summary(state) == "approved by Dana Reviewer (earlier version)"

    _, released = signoff.sign(clean, NIGHT, "Dana Reviewer", APPROVE, DATASETS, version=rerun)
    assert released == rerun
    visible(clean, {EARLIER: earlier, NIGHT: rerun}, offline_hf, tmp_path)


def test_a_held_rerun_replaces_the_held_version(clean: Path, tmp_path: Path) -> None:
    first = held_version(clean, NIGHT)
    rerun = _publish(tmp_path, clean, NIGHT, 40, hold=True)
    assert rerun != first and held_version(clean, NIGHT) == rerun
    assert not (nights_dir(clean, NIGHT) / first).exists(), "a replaced held version was never read by anyone"
    assert _publish(tmp_path, clean, NIGHT, 40, hold=True) == rerun, "the same night again changes nothing"
    assert _publish(tmp_path, clean, EARLIER, 20, hold=True) == current_version(clean, EARLIER)
    assert held_version(clean, EARLIER) is None, "byte for byte what readers see already: nothing to sign"


def test_an_altered_log_publishes_nothing(clean: Path, offline_hf: Any, tmp_path: Path) -> None:
    earlier = current_version(clean, EARLIER)
    signoff.sign(clean, NIGHT, "Lee Second", REJECT, DATASETS, reason="a name in the sample")
    log = signoff.log_path(clean, NIGHT)
    log.write_text(log.read_text().replace('"reject"', '"approve"'))
    with pytest.raises(SignoffError, match="entry 1 was rewritten"):
        signoff.sign(clean, NIGHT, "Dana Reviewer", APPROVE, DATASETS)
    assert held_version(clean, NIGHT) is not None
    visible(clean, {EARLIER: earlier}, offline_hf, tmp_path)


def test_publish_is_immediately_unless_the_policy_says_on_signoff() -> None:
    assert load_policy().output["publish"] == "immediately"
    raw = load_policy().raw
    assert Policy(raw={**raw, "output": {**raw["output"], "publish": "on_signoff"}}, sha256="t").output["publish"] == "on_signoff"
    with pytest.raises(PolicyError, match="output.publish"):
        Policy(raw={**raw, "output": {**raw["output"], "publish": "later"}}, sha256="t")


def on_signoff_policy(folder: Path) -> Path:
    text = default_policy_path().read_text()
    assert "\n  publish: immediately\n" in text
    path = folder / "policy.yaml"
    path.write_text(text.replace("\n  publish: immediately\n", "\n  publish: on_signoff\n"))
    return path


def trend_line(clean: Path) -> str:
    result = scrubline("report", "--clean", str(clean), "--last", "3")
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if line.startswith(DS))


@pytest.mark.e2e
def test_the_cli_holds_a_night_until_approved_and_again_after_a_rekey(night: Night, tmp_path: Path) -> None:
    policy, clean = on_signoff_policy(tmp_path), tmp_path / "clean"
    ran = run_night(night, clean, "--policy", str(policy))
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert f"held for sign-off: ds={DS}" in ran.stdout and "published text" not in ran.stdout
    first = held_version(clean, DS)
    assert first and f"version {first}" in ran.stdout
    assert readers_see(clean, "text") == readers_see(clean, "events") == 0 and by_the_rule(clean, DS) is None
    assert not (clean / "text").exists() and not (clean / "README.md").exists() and not (clean / "_reports").exists()
    report = nights_dir(clean, DS) / "held" / "report"
    assert "Held for sign-off" in (report / "report.html").read_text()
    assert (read_json(report / "report.json")["held"], read_json(report / "report.json")["published"]) == (True, False)
    assert trend_line(clean).split()[1] == "held" and "unsigned" in trend_line(clean)

    sign = ("signoff", "--clean", str(clean), "--ds", DS)
    rejected = scrubline(*sign, "--reviewer", "Lee Second", "--reject", "--reason", "a name in the sample")
    assert rejected.returncode == 0 and "stays held for sign-off" in rejected.stdout, rejected.stderr
    assert readers_see(clean, "text") == 0 and by_the_rule(clean, DS) is None
    assert "REJECTED by Lee Second" in trend_line(clean) and trend_line(clean).split()[1] == "held"
    assert "Rejected</span>" in (report / "report.html").read_text()

    assert f"--version {first}" in ran.stdout
    approved = scrubline(*sign, "--reviewer", "Dana Reviewer", "--version", first)
    assert approved.returncode == 0 and f"version {first} is now visible to readers" in approved.stdout, approved.stderr
    rows = manifest_of(clean, "text")["rows"]
    assert rows > 0 and readers_see(clean, "text") == rows and readers_see(clean, "events") > 0
    assert by_the_rule(clean, DS) == first and in_card(clean, DS)
    published = (clean / "_reports" / f"ds={DS}" / "report.html").read_text()
    assert "Approved</span>" in published and "Held for sign-off" not in published
    assert trend_line(clean).split()[1] == "yes" and "approved by Dana Reviewer" in trend_line(clean)

    key = tmp_path / "new.key"
    key.write_text("fedcba9876543210" * 4)
    key.chmod(0o600)
    old_key = manifest_of(clean, "text")["key_id"]
    rekeyed = scrubline("rekey", "--ds", DS, "--raw", str(night.raw), "--clean", str(clean), "--key-file", str(key),
                        "--quarantine", str(tmp_path / "quarantine"), "--policy", str(policy))
    assert rekeyed.returncode == 0, rekeyed.stderr[-3000:]
    second = held_version(clean, DS)
    assert second not in (None, first), "the re-run is held, the approval of the first version does not publish it"
    assert by_the_rule(clean, DS) == first and manifest_of(clean, "text")["key_id"] == old_key
    assert readers_see(clean, "text") == rows
    assert "approved by Dana Reviewer (earlier version)" in trend_line(clean) and trend_line(clean).split()[1] == "held"
    assert json.loads(signoff.log_path(clean, DS).read_text().splitlines()[-1])["version"] == first

    stale = scrubline(*sign, "--reviewer", "Dana Reviewer", "--version", first)  # the report read before the re-run
    assert stale.returncode == 2 and stale.stderr.count("\n") == 1 and "nothing recorded" in stale.stderr
    assert by_the_rule(clean, DS) == first and held_version(clean, DS) == second
    again = scrubline(*sign, "--reviewer", "Dana Reviewer", "--version", second)
    assert again.returncode == 0 and f"version {second} is now visible to readers" in again.stdout, again.stderr
    assert by_the_rule(clean, DS) == second and manifest_of(clean, "text")["key_id"] != old_key
    assert len(signoff.read_log(signoff.log_path(clean, DS))) == 3


@pytest.mark.e2e
def test_the_dag_publish_task_succeeds_with_the_night_held(night: Night, tmp_path: Path) -> None:
    from pipeline.airflow_local import run_dag

    clean, home = tmp_path / "clean", tmp_path / "airflow"
    settings = {"SCRUBLINE_RAW_ROOT": str(night.raw), "SCRUBLINE_CLEAN_ROOT": str(clean), "SCRUBLINE_KEY_FILE": str(night.key_file),
                "SCRUBLINE_QUARANTINE_ROOT": str(tmp_path / "quarantine"), "SCRUBLINE_POLICY": str(on_signoff_policy(tmp_path))}
    result = run_dag(DS, home, settings)  # the scheduled run of the midnight that ends DS
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(db.execute("select task_id, state from task_instance where map_index = -1").fetchall())
        events = db.execute("select a.name, e.extra from asset_event e join asset a on a.id = e.asset_id").fetchall()
    assert states["publish"] == states["retention"] == "success" and states["announce"] == "skipped", states
    version = held_version(clean, DS)
    assert version and readers_see(clean, "text") == 0 and by_the_rule(clean, DS) is None
    assert events == [], "a held night triggers no training DAG"

    approved = scrubline("signoff", "--clean", str(clean), "--ds", DS, "--reviewer", "Dana Reviewer")
    assert approved.returncode == 0, approved.stderr
    assert by_the_rule(clean, DS) == version and readers_see(clean, "text") == manifest_of(clean, "text")["rows"] > 0
