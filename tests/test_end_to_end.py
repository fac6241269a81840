"""End to end over the real CLI: real Presidio + spaCy, real Great Expectations, real Parquet."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import stat
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
import yaml
from browser import CHROMIUM, lay_out
from leaks import (
    MUST_NOT_LEAK,
    files_containing,
    parquet_strings,
    planted,
    roster_values,
    survivors,
)
from offline_html import broken_links, remote_resources
from support import DS, MALFORMED, Night, run_night, scrubline
from support import manifest as manifest_of

from pipeline.contracts import PUBLISHED_SCHEMAS, SOURCES, TEXT_SCHEMA
from pipeline.policy import default_policy_path
from pipeline.read import read_partition

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def clean(night: Night, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run1") / "clean"
    result = run_night(night, root)
    assert result.returncode == 0, result.stderr
    assert "published" in result.stdout and "report:" in result.stdout
    return root


def published(clean: Path) -> Path:
    return clean / "text" / f"ds={DS}"


def test_night_is_published_with_manifest_report_and_success(clean: Path) -> None:
    folder = published(clean)
    names = {p.name for p in folder.iterdir()}
    assert names and all(re.fullmatch(r"(train|validation|test)-\d{5}-of-\d{5}\.parquet", n) for n in names), (
        "the hive folder holds shards only: sidecars live in the version")
    version = clean / "_nights" / f"ds={DS}" / "current"
    assert {"_manifest.json", "_SUCCESS", "_report.html", "_report.json"} <= {p.name for p in (version / "text").iterdir()}
    assert (version / "_SUCCESS").exists() and (clean / "README.md").is_file()
    assert not list(folder.parent.glob(".*")), "no temp files next to the published night"
    assert (clean / "_reports" / f"ds={DS}" / "report.html").exists()


def test_no_planted_value_survives_in_any_shard(night: Night, clean: Path) -> None:
    values = {v for _, v in planted(night.ground_truth, MUST_NOT_LEAK, {"chat", "transcripts"})}
    values |= roster_values(night.roster)
    assert len(values) > 50, "the generated night should plant plenty to look for"
    texts = parquet_strings(published(clean))
    assert texts, "shards hold rows"
    assert survivors(texts, values) == set()


def test_no_planted_value_reaches_manifest_or_report(night: Night, clean: Path) -> None:
    values = {v for _, v in planted(night.ground_truth, MUST_NOT_LEAK | {"PERSON", "ADDRESS"}, {"chat", "transcripts", "performance"})}
    values |= roster_values(night.roster)
    assert files_containing(clean, values) == {}


def test_shards_read_back_without_project_code(clean: Path) -> None:
    manifest = manifest_of(clean, "text")
    frame = pd.read_parquet(clean / "text")
    assert len(frame) == manifest["rows"] > 0
    table = pads.dataset(clean / "text").to_table()
    assert table.num_rows == manifest["rows"]
    assert set(TEXT_SCHEMA.names) <= set(table.column_names) and set(table["ds"].to_pylist()) == {DS}
    hive = pads.HivePartitioning.discover(infer_dictionary=True)  # as pandas reads folders
    assert pads.dataset(clean / "text", partitioning=hive).to_table().num_rows == manifest["rows"]
    count = duckdb.sql(f"select count(*) from read_parquet('{clean}/text/*/*.parquet')").fetchall()[0][0]
    assert count == manifest["rows"]
    shard = pq.read_table(next(published(clean).glob("train-*.parquet")))
    assert shard.schema.remove_metadata().equals(PUBLISHED_SCHEMAS["text"])
    meta = shard.schema.metadata
    assert meta[b"scrubline.policy_sha256"].decode() == manifest["policy_sha256"]
    assert b"scrubline.pipeline_version" in meta


def test_the_real_night_reads_in_dialogue_order_with_splits_hugging_face_sees(
    clean: Path, offline_hf: Any, tmp_path: Path
) -> None:
    frame = pd.read_parquet(clean / "text")
    for _, turns in frame.groupby("conversation_pid", observed=True)["turn"]:
        assert sorted(turns) == list(range(1, len(turns) + 1)), "each conversation's turns count from 1, once each"
    listed = manifest_of(clean, "text")
    assert set(listed["split_users"]) <= {"train", "validation", "test"} and listed["split_policy"]["test"] == 0.1
    assert sum(listed["split_users"].values()) == frame["user_pid"].nunique()
    loaded = offline_hf.load_dataset("parquet", data_dir=str(clean / "text"), cache_dir=str(tmp_path / "hf-cache"))
    assert {s: loaded[s].num_rows for s in loaded} == listed["splits"]
    assert all(set(loaded[s]["ds"]) == {DS} and set(loaded[s]["split"]) == {s} for s in loaded)


def test_default_policy_publishes_key_classes_not_characters(clean: Path) -> None:
    events = pd.read_parquet(clean / "events" / f"ds={DS}")
    keys = events[events["source"] == "keystrokes"]
    assert len(keys) > 0 and keys["key"].isna().all() and keys["key_class"].notna().all()


def test_splits_never_share_a_user(clean: Path) -> None:
    frame = pd.read_parquet(published(clean))
    users = frame.groupby("user_pid")["split"].nunique()
    assert (users == 1).all()
    assert set(frame["split"]) <= {"train", "validation", "test"}
    events = pd.read_parquet(clean / "events")
    both = dict(zip(frame["user_pid"], frame["split"], strict=True))
    assert all(both.get(u, s) == s for u, s in zip(events["user_pid"], events["split"], strict=True)), (
        "a user is in the same split in text and events")


def _raw_rows(raw: Path) -> dict[str, int]:
    counts = {}
    for folder in sorted(raw.glob(f"*/ds={DS}")):
        if folder.parent.name not in SOURCES:
            continue
        n = 0
        for path in folder.iterdir():
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt") as handle:
                n += sum(1 for _ in handle)
        counts[folder.parent.name] = n
    return counts


def test_rows_reconcile(night: Night, clean: Path) -> None:
    manifest = manifest_of(clean, "text")
    raw = _raw_rows(night.raw)
    assert {s: c["input_rows"] for s, c in manifest["sources"].items()} == raw
    for source, c in manifest["sources"].items():
        primary = c["published"].get(c["primary"], 0) if c["primary"] else 0
        assert c["input_rows"] == primary + sum(c["quarantined"].values()) + sum(c["dropped"].values()), source
    rec = manifest["reconciliation"]
    assert rec["balanced"] and rec["input_rows"] == sum(raw.values())
    events = manifest_of(clean, "events")
    assert manifest["rows"] + events["rows"] == rec["published"] + manifest["sources"]["keystrokes"]["published"]["text"]
    for m in (manifest, events):
        assert sum(f["rows"] for f in m["files"]) == m["rows"]
        assert m["validation"]["success"] is True
    assert events["rows"] == raw["keystrokes"] + raw["mouse"], "every key and mouse event is published, masked"
    assert manifest["sources"]["performance"]["published"] == {}, "performance records are never published"


def test_malformed_rows_are_quarantined_with_reasons(clean: Path) -> None:
    quarantine = clean.parent / "quarantine"
    rows = pq.read_table(quarantine / "chat" / f"ds={DS}" / "quarantine.parquet").to_pylist()
    assert sorted(r["reason"] for r in rows) == sorted(reason for _, reason in MALFORMED)
    assert {r["raw"] for r in rows} == {line for line, _ in MALFORMED}
    for folder in [quarantine, *[p for p in quarantine.rglob("*") if p.is_dir()]]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in [p for p in quarantine.rglob("*") if p.is_file()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    manifest = manifest_of(clean, "text")
    assert manifest["sources"]["chat"]["quarantined"] == {reason: 1 for _, reason in MALFORMED}


def test_rerun_gives_the_same_rows_and_replaces_cleanly(night: Night, clean: Path, tmp_path: Path) -> None:
    other = tmp_path / "clean"
    assert run_night(night, other).returncode == 0
    first = pd.read_parquet(published(clean)).sort_values("record_pid").reset_index(drop=True)
    second = pd.read_parquet(published(other)).sort_values("record_pid").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second)
    events = [pd.read_parquet(root / "events" / f"ds={DS}") for root in (clean, other)]
    pd.testing.assert_frame_equal(*events)
    (published(other) / "stale.parquet").write_bytes(b"left over")
    assert run_night(night, other).returncode == 0
    assert not (published(other) / "stale.parquet").exists()


def test_run_without_a_key_is_refused(night: Night, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    result = scrubline("run", "--ds", DS, "--raw", str(night.raw), "--clean", str(clean))
    assert result.returncode != 0
    assert "SCRUBLINE_HMAC_KEY" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (clean / "text").exists()


def test_failed_validation_publishes_nothing(night: Night, tmp_path: Path) -> None:
    policy = yaml.safe_load(default_policy_path().read_text())
    for family in policy["recognizers"]:
        policy["recognizers"][family] = family == "spacy_ner"  # names only: every pattern family is off
    path = tmp_path / "weak.yaml"
    path.write_text(yaml.safe_dump(policy))
    clean = tmp_path / "clean"
    result = run_night(night, clean, "--policy", str(path))
    assert result.returncode != 0
    assert "validation failed" in result.stderr
    assert not (clean / "text").exists()
    assert not (clean / "_reports").exists(), "the published reports describe published nights only"
    report = json.loads((clean / "_attempts" / f"ds={DS}" / "report.json").read_text())
    assert report["published"] is False and report["validation"]["text"]["success"] is False
    assert report["sample"] is None, "a failed night's text may hold what a gate caught: none is shown"
    assert "none of its text is shown" in (clean / "_attempts" / f"ds={DS}" / "report.html").read_text()
    assert not (clean / "events").exists(), "no dataset of a failed night is published"


def test_reports_data_docs_and_gates_are_written(clean: Path) -> None:
    folder = clean / "_reports" / f"ds={DS}"
    assert {"report.html", "report.json", "inputs.json"} <= {p.name for p in folder.iterdir()}
    assert {"text.html", "text.suite.html", "events.html", "events.suite.html"} <= {p.name for p in (folder / "data_docs").iterdir()}
    report = json.loads((folder / "report.json").read_text())
    assert report["canaries"]["success"] and report["canaries"]["labels"]["TYPED_SECRET"]["planted"] > 0
    from pipeline.policy import CANARY_LABELS

    labels = report["canaries"]["labels"]
    assert set(labels) == set(CANARY_LABELS), "every class is planted on a night with every source"
    for label, c in labels.items():  # 20 or more a class over the night's chat and transcripts, or its keystrokes
        assert c["planted"] >= 20 and c["caught"] <= c["planted"], label
        low, high = c["interval"]
        assert 0.0 <= low <= c["recall"] <= high <= 1.0, label
    assert report["residual"] == {"hits": {}, "success": True}
    assert set(report["validation"]) == {"text", "events"}


def test_every_page_of_the_night_is_offline_and_its_links_resolve(clean: Path) -> None:
    pages = sorted((clean / "_nights").rglob("*.html"))  # the real folders, not the reader links into them
    assert len(pages) >= 5, "the report, its copies and four Data Docs pages"
    for page in pages:
        assert remote_resources(page) == [], page.relative_to(clean)
    report = clean / "_reports" / f"ds={DS}"
    copies = sorted((clean / "text" / f"ds={DS}").glob("*.html")) + sorted((clean / "events" / f"ds={DS}").glob("*.html"))
    for page in [report / "report.html", *sorted((report / "data_docs").iterdir()), *copies]:
        assert broken_links(page) == [], page.name
    for dataset in ("text", "events"):
        html = (report / "data_docs" / f"{dataset}.html").read_text()
        assert f"ds={DS} scrubline " in html and "__none__" not in html
        assert 'aria-label="succeeded">&#10004;</span>' in html and 'aria-label="failed"' not in html
    assert 'href="data_docs/text.html"' in (report / "report.html").read_text()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser installs it)")
def test_the_report_and_data_docs_at_1280_px_in_chromium(clean: Path, tmp_path: Path) -> None:
    report = clean / "_reports" / f"ds={DS}"
    metrics = json.loads((report / "report.json").read_text())["metrics"]
    for page in (report / "report.html", report / "data_docs" / "text.html", report / "data_docs" / "events.html"):
        layout = lay_out(page, tmp_path / page.stem)
        assert layout.inner_width == 1280
        assert layout.scroll_width <= 1280, f"{page.name} is {layout.scroll_width} px wide: {layout.wide}"
        assert layout.fetched == [], f"{page.name} loaded {layout.fetched}"
        assert layout.drawn_share > 0.03 and layout.colours > 50, f"the screenshot of {page.name} shows the page"
        if page.name == "report.html":
            assert layout.svgs == 1 + len(metrics), "the entity chart and a chart per trend figure"


def test_the_report_samples_published_rows_by_a_keyed_order(clean: Path) -> None:
    report = json.loads((clean / "_reports" / f"ds={DS}" / "report.json").read_text())
    sample = report["sample"]
    published_rows = pd.read_parquet(clean / "text" / f"ds={DS}", columns=["source", "split", "text"])
    assert len(sample) == min(20, len(published_rows))
    rows = set(published_rows.itertuples(index=False, name=None))
    for r in sample:
        text = r["text"]
        assert (r["source"], r["split"], text) in rows or any(
            t.startswith(text.removesuffix(" …")) for s, sp, t in rows if (s, sp) == (r["source"], r["split"])), "a published row"
    first = list(published_rows.itertuples(index=False, name=None))[:20]
    assert [(r["source"], r["split"], r["text"]) for r in sample] != first, "not the first rows of the sort"
    assert len({r["source"] for r in sample}) >= 2, "drawn across sources"
    html = (clean / "_reports" / f"ds={DS}" / "report.html").read_text()
    assert f"The only text in this report: {len(sample)} rows" in html


def test_signoff_is_shown_in_the_report_and_the_trend_and_a_tampered_log_is_caught(clean: Path, tmp_path: Path) -> None:
    copy = tmp_path / "clean"
    shutil.copytree(clean, copy, symlinks=True)
    signed = scrubline("signoff", "--clean", str(copy), "--ds", DS, "--reviewer", "Dana Reviewer", "--note", "read the sample")
    assert signed.returncode == 0, signed.stderr
    assert f"ds={DS} approved by Dana Reviewer" in signed.stdout
    log = copy / "_signoff" / f"ds={DS}.jsonl"
    assert not list((copy / "text").rglob("*.jsonl")), "the log stays out of the shard folders"
    assert log.stat().st_mode & 0o777 == 0o640, "the published tree's mode, for readers of the report"
    report = copy / "_reports" / f"ds={DS}"
    recorded = json.loads((report / "report.json").read_text())["signoff"]
    assert (recorded["decision"], recorded["current"], recorded["entries"]) == ("approve", True, 1)
    assert "Approved</span>\nby Dana Reviewer" in (report / "report.html").read_text()
    trend = scrubline("report", "--clean", str(copy), "--last", "3")
    assert trend.returncode == 0 and "approved by Dana Reviewer" in trend.stdout, trend.stderr

    rejected = scrubline("signoff", "--clean", str(copy), "--ds", DS, "--reviewer", "Lee Second", "--reject",
                         "--reason", "sample shows a leaked street name")
    assert rejected.returncode == 0, rejected.stderr
    assert "REJECTED by Lee Second" in scrubline("report", "--clean", str(copy), "--last", "3").stdout

    first, second = log.read_text().splitlines()
    log.write_text(first.replace("Dana Reviewer", "Dana Reviewed") + "\n" + second + "\n")
    refused = scrubline("signoff", "--clean", str(copy), "--ds", DS, "--reviewer", "Dana Reviewer")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "sign-off log" in refused.stderr and "entry 1 was rewritten" in refused.stderr
    assert "LOG ALTERED" in scrubline("report", "--clean", str(copy), "--last", "3").stdout
    log.write_text(first + "\n")  # the last entry removed: caught against the report's count
    assert "LOG ALTERED" in scrubline("report", "--clean", str(copy), "--last", "3").stdout


def test_report_command_rebuilds_a_night_and_shows_trends(clean: Path, tmp_path: Path) -> None:
    reports = tmp_path / "clean" / "_reports"
    shutil.copytree(clean / "_reports" / f"ds={DS}", reports / f"ds={DS}")
    for earlier in ("2026-11-20", "2026-11-21"):
        folder = reports / f"ds={earlier}"
        shutil.copytree(reports / f"ds={DS}", folder)
        inputs = json.loads((folder / "inputs.json").read_text())
        inputs["per_source"]["chat"]["entities"]["PERSON"] *= 3  # earlier nights found far more names
        for m in inputs["manifests"].values():
            m["policy_sha256"] = "0" * 64  # and ran under another policy
        (folder / "inputs.json").write_text(json.dumps(inputs))
        assert scrubline("report", "--clean", str(tmp_path / "clean"), "--ds", earlier).returncode == 0
    rebuilt = scrubline("report", "--clean", str(tmp_path / "clean"), "--ds", DS)
    assert rebuilt.returncode == 0, rebuilt.stderr
    report = json.loads((reports / f"ds={DS}" / "report.json").read_text())
    flags = {t["metric"]: t["flag"] for t in report["trends"]}
    assert flags["PERSON_per_1k_text_rows"] == "dropped"
    assert report["policy_change"]["changed"] and report["policy_change"]["last_night_policy_sha256"] == "0" * 64
    assert [p["ds"] for p in report["series"]["PERSON_per_1k_text_rows"]] == ["2026-11-20", "2026-11-21", DS]
    published_report = json.loads((clean / "_reports" / f"ds={DS}" / "report.json").read_text())
    assert report["sample"] == published_report["sample"], "a rebuilt report shows the same rows"
    html = (reports / f"ds={DS}" / "report.html").read_text()
    assert "The policy changed" in html and html.count("<polyline") == len(report["metrics"])
    assert 'aria-label="PERSON_per_1k_text_rows by night"' in html and 'class="flagged"' in html
    shown = scrubline("report", "--clean", str(tmp_path / "clean"), "--last", "7")
    assert shown.returncode == 0 and "2026-11-20" in shown.stdout and "PERSON_per_1k_text_rows dropped" in shown.stdout


def test_a_disabled_detector_fails_the_canary_check_and_publishes_nothing(night: Night, tmp_path: Path) -> None:
    from pipeline.detect.registry import DetectContext, build_recognizers
    from pipeline.policy import load_policy
    from pipeline.roster import Roster

    phone = [r.name for r in build_recognizers(DetectContext(load_policy(), Roster())) if "PHONE_NUMBER" in r.supported_entities]
    policy = yaml.safe_load(default_policy_path().read_text())
    policy["recognizers_disabled"] = phone
    path = tmp_path / "no-phones.yaml"
    path.write_text(yaml.safe_dump(policy))
    clean = tmp_path / "clean"
    result = run_night(night, clean, "--policy", str(path))
    assert result.returncode != 0
    assert "canary recall for PHONE" in result.stderr
    assert not (clean / "text").exists() and not (clean / "events").exists()
    report = json.loads((clean / "_attempts" / f"ds={DS}" / "report.json").read_text())
    assert report["canaries"]["labels"]["PHONE"]["ok"] is False and report["published"] is False


def _same_night(first: Path, second: Path) -> None:
    """Record-level equality of two runs of one night: rows, counts, gates and quarantine."""
    for dataset in ("text", "events"):
        a, b = (pd.read_parquet(root / dataset / f"ds={DS}") for root in (first, second))
        pd.testing.assert_frame_equal(a, b)
        ma, mb = (manifest_of(root, dataset) for root in (first, second))
        for key in ("rows", "splits", "sources", "entities", "reconciliation"):
            assert ma[key] == mb[key], (dataset, key)
    ia, ib = (json.loads((root / "_reports" / f"ds={DS}" / "inputs.json").read_text()) for root in (first, second))
    assert ia["per_source"] == ib["per_source"] and ia["gates"] == ib["gates"]
    qa, qb = (sorted(str(p.relative_to(root.parent / "quarantine")) for p in (root.parent / "quarantine").rglob("*"))
              for root in (first, second))
    assert qa == qb
    for name in qa:
        if name.endswith(".parquet"):
            assert pq.read_table(first.parent / "quarantine" / name).equals(pq.read_table(second.parent / "quarantine" / name))


def _batches_of(rows: int, tmp_path: Path) -> Path:
    policy = yaml.safe_load(default_policy_path().read_text())
    assert policy["run"]["batch_rows"] >= 1000, "the module's night ran in one batch per partition"
    policy["run"]["batch_rows"] = rows
    path = tmp_path / f"batches-of-{rows}.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def test_outputs_do_not_depend_on_workers_or_batch_size(
    night: Night, clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import run

    # One process, every partition in batches of 13 rows (cut anywhere, canaries in the first one).
    one = tmp_path / "one" / "clean"
    result = run_night(night, one, "--workers", "1", "--policy", str(_batches_of(13, tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "no progress bar when stderr is not a terminal"
    _same_night(clean, one)

    # Two worker processes, batches of 100 rows each cut into up to 8 pieces for the pool, progress bar on.
    monkeypatch.setattr(run, "MIN_TASK_ROWS", 10)
    two = tmp_path / "two" / "clean"
    cfg = run.NightConfig(ds=DS, raw_root=str(night.raw), clean_root=str(two), key_file=str(night.key_file),
                          quarantine_root=str(two.parent / "quarantine"), policy_path=str(_batches_of(100, tmp_path)))
    run.run_night(cfg, progress=True, workers=2)
    _same_night(clean, two)
    bar = capsys.readouterr().err
    assert "rows" in bar and "chunks" in bar
    texts = {r["text"] for source in ("chat", "transcripts") for r in read_partition(night.raw, source, DS).rows}
    values = {t for t in texts if len(t) >= 8} | roster_values(night.roster)
    values |= {v for _, v in planted(night.ground_truth, MUST_NOT_LEAK, {"chat", "transcripts", "keystrokes"})}
    assert survivors([bar], values) == set(), "the progress bar shows counts only"
