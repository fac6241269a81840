"""The publishing gate: run a dataset's reviewed Great Expectations suite over the output table.

The suite lives as data in pipeline/expectations/<dataset>.json so a privacy reviewer can read and change
it without touching code; it is package data, read through importlib.resources, so an installed wheel
gates exactly as the source tree does. Results are cut down to counts and booleans: a failing leak check must
never copy the leaked value into logs, manifests or reports.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from pipeline.contracts import PIPELINE_VERSION
from pipeline.data_docs import self_contained, suite_page_name

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.datasource.fluent import PandasDatasource

# Package data, never the source tree: a wheel installed on a worker carries the reviewed suites.
SUITES = resources.files("pipeline") / "expectations"
# SUMMARY gives counts and percents; a partial_unexpected_count of 0 keeps GE's sample lists empty.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}  # never copy raw values

_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# GE contexts are not thread-safe; one lock also keeps the per-process caches single-built.
_GX_LOCK = threading.Lock()


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str  # expectation type
    column: str | None
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    why: str | None  # from meta


@dataclass(frozen=True)
class ValidationOutcome:
    suite: str
    success: bool
    evaluated: int
    failed: int
    results: tuple[ExpectationOutcome, ...]

    def to_dict(self) -> dict:
        """A JSON-safe summary for manifests and reports: counts, percents and flags only."""
        return asdict(self) | {"results": [asdict(r) for r in self.results]}


def load_suite(dataset: str, expectations_dir: Path | None = None) -> dict:
    """The suite as the reviewer wrote it; a malformed file stops the run rather than skip checks."""
    if not _DATASET_NAME.match(dataset):
        raise ValueError(f"dataset name {dataset!r} is not a plain lower-case name")
    path = (Path(expectations_dir) if expectations_dir else SUITES) / f"{dataset}.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    _check_spec(spec, dataset, path.name)
    return spec


def validate_table(
    table: pa.Table | pd.DataFrame,
    dataset: str,
    parameters: dict[str, object],
    expectations_dir: Path | None = None,
) -> ValidationOutcome:
    """Run the dataset's suite; `parameters` fills its {"$PARAMETER": name} slots (e.g. expected_rows)."""
    return _outcome(_run(table, dataset, parameters, expectations_dir).to_json_dict())


def validate_with_docs(
    table: pa.Table | pd.DataFrame, dataset: str, parameters: dict[str, object], ds: str
) -> tuple[ValidationOutcome, dict[str, str]]:
    """The outcome plus Great Expectations' Data Docs pages for it (file name -> HTML): the validation page,
    rendered from the counts-only result, and the page of the suite it links to."""
    result = _run(table, dataset, parameters, None)
    spec_text = json.dumps(load_suite(dataset), sort_keys=True)
    pages = {
        f"{dataset}.html": data_docs_html(result, ds),
        suite_page_name(dataset): suite_docs_html(_build_suite(spec_text)),
    }
    return _outcome(result.to_json_dict()), pages


def run_name(ds: str) -> str:
    """The run name GE shows: the night and the pipeline version (GE's default is `__none__`)."""
    return f"ds={ds} scrubline {PIPELINE_VERSION}"


# What makes two renderings of the same result differ: GE's render times and the random ids of collapsible parts.
_RENDER_TIME = re.compile(r"\b\d{8}T\d{6}\.\d{6}Z\b")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def data_docs_html(result: Any, ds: str) -> str:
    """GE's own validation page for the night, made self-contained (pipeline.data_docs).

    The page is built from the SUMMARY result (no sampled values). Its run is named after the night and the
    pipeline version, and its run time is the night's date, not the wall clock, so the same night renders the
    same page (the published version id is a hash of the content); random element ids are numbered for the
    same reason.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.render.renderer import ValidationResultsPageRenderer

    night = datetime.strptime(ds, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    result.meta["run_id"] = RunIdentifier(run_name=run_name(ds), run_time=night)
    with _GX_LOCK:
        html = _page_view().render(ValidationResultsPageRenderer().render(result))
    return _stable(self_contained(html))


def suite_docs_html(suite: ExpectationSuite) -> str:
    """GE's page of the reviewed suite itself (expectations and their kwargs, no data), self-contained."""
    from great_expectations.render.renderer import ExpectationSuitePageRenderer

    with _GX_LOCK:
        html = _page_view().render(ExpectationSuitePageRenderer().render(suite))
    return _stable(self_contained(html))


def _page_view() -> Any:
    from great_expectations.render.view import DefaultJinjaPageView

    return DefaultJinjaPageView()


def _stable(html: str) -> str:
    ids: dict[str, str] = {}
    html = _UUID.sub(lambda m: ids.setdefault(m.group(0), f"part-{len(ids)}"), html)
    return _RENDER_TIME.sub("", html)


def _raw_result(
    table: pa.Table | pd.DataFrame,
    dataset: str,
    parameters: dict[str, object],
    expectations_dir: Path | None = None,
) -> dict[str, Any]:
    """GE's own result as a JSON dict; kept separate so tests can prove it carries no data values."""
    return _run(table, dataset, parameters, expectations_dir).to_json_dict()


def _run(
    table: pa.Table | pd.DataFrame,
    dataset: str,
    parameters: dict[str, object],
    expectations_dir: Path | None,
) -> Any:
    spec_text = json.dumps(load_suite(dataset, expectations_dir), sort_keys=True)
    frame = table.to_pandas() if isinstance(table, pa.Table) else table
    with _GX_LOCK:
        batch = _batch_definition(dataset).get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(
            _build_suite(spec_text),
            # A copy: GE's result-format parsing writes defaults into dicts in place.
            result_format=dict(RESULT_FORMAT),
            expectation_parameters=dict(parameters),
        )


def _check_spec(spec: Any, dataset: str, filename: str) -> None:
    if not isinstance(spec, dict) or spec.get("name") != dataset:
        raise ValueError(f"{filename}: must be an object whose name is {dataset!r}")
    entries = spec.get("expectations")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{filename}: 'expectations' must be a non-empty list")
    for index, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or not str(entry.get("type", "")).startswith("expect_")
            or not isinstance(entry.get("kwargs"), dict)
            or not isinstance(entry.get("meta", {}), dict)
        ):
            raise ValueError(f"{filename}: expectation {index} needs a type 'expect_...' and kwargs")


@functools.cache
def _data_source() -> PandasDatasource:
    """One in-memory GE context per process: no files, no progress bars, no analytics, no network."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # must be set before GE is first imported
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    return context.data_sources.add_pandas("scrubline")


@functools.cache
def _batch_definition(dataset: str) -> BatchDefinition:
    """A whole-dataframe batch per dataset; the dataframe itself is passed in at validation time."""
    asset = _data_source().add_dataframe_asset(dataset)
    return asset.add_batch_definition_whole_dataframe(f"{dataset}_whole_table")


@functools.lru_cache(maxsize=16)
def _build_suite(spec_text: str) -> ExpectationSuite:
    """GE's suite object, cached on the spec's text so an edited file is still picked up.

    Expectations go in one at a time through add_expectation: the suite constructor logs and drops
    invalid entries, and add_expectation_configuration upserts by column, so several regex checks
    on `text` would silently collapse into the last one.
    """
    _data_source()
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    spec = json.loads(spec_text)
    suite = gx.ExpectationSuite(name=spec["name"])
    for entry in spec["expectations"]:
        config = ExpectationConfiguration(
            type=entry["type"], kwargs=entry["kwargs"], meta=entry.get("meta")
        )
        suite.add_expectation(config.to_domain_obj())
    if len(suite.expectations) != len(spec["expectations"]):
        raise ValueError(f"suite {spec['name']}: duplicate expectations (same type and kwargs)")
    return suite


def _outcome(raw: dict[str, Any]) -> ValidationOutcome:
    results = tuple(_expectation_outcome(r) for r in raw["results"])
    return ValidationOutcome(
        suite=raw["suite_name"],
        success=bool(raw["success"]),
        evaluated=len(results),
        failed=sum(not r.success for r in results),
        results=results,
    )


def _expectation_outcome(raw: dict[str, Any]) -> ExpectationOutcome:
    """Read only the suite's own fields and GE's counts; never observed or sampled values."""
    config = raw["expectation_config"]
    summary = raw.get("result") or {}
    count = summary.get("unexpected_count")
    percent = summary.get("unexpected_percent")
    return ExpectationOutcome(
        expectation=config["type"],
        column=config["kwargs"].get("column"),
        success=bool(raw["success"]),
        unexpected_count=None if count is None else int(count),
        unexpected_percent=None if percent is None or math.isnan(percent) else float(percent),
        why=(config.get("meta") or {}).get("why"),
    )
