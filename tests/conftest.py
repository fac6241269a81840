"""Shared fixtures: one small generated night, reused by every end-to-end test."""

from __future__ import annotations

import json

import pytest
from support import DS, MALFORMED, Night, typed_then_deleted_stream

from pipeline.generate import generate_night


@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    root = tmp_path_factory.mktemp("night")
    generate_night(root / "raw", DS, employees=12, seed=7)
    bad = root / "raw" / "chat" / f"ds={DS}" / "zz-malformed.jsonl"
    bad.write_text("\n".join(line for line, _ in MALFORMED) + "\n")
    employee = json.loads((root / "raw" / "roster.jsonl").read_text().splitlines()[0])["employee_id"]
    typed = root / "raw" / "keystrokes" / f"ds={DS}" / "zz-typed-then-deleted.jsonl"
    typed.write_text("".join(json.dumps(e) + "\n" for e in typed_then_deleted_stream(employee)))
    key_file = root / "hmac.key"
    key_file.write_text("0123456789abcdef" * 4)
    key_file.chmod(0o600)
    return Night(raw=root / "raw", key_file=key_file)


