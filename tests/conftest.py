"""Shared fixtures: one small generated night, reused by every end-to-end test."""

from __future__ import annotations

import pytest

from pipeline.generate import generate_night
from support import DS, MALFORMED, Night

@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    root = tmp_path_factory.mktemp("night")
    generate_night(root / "raw", DS, employees=12, seed=7)
    bad = root / "raw" / "chat" / f"ds={DS}" / "zz-malformed.jsonl"
    bad.write_text("\n".join(line for line, _ in MALFORMED) + "\n")
    key_file = root / "hmac.key"
    key_file.write_text("0123456789abcdef" * 4)
    key_file.chmod(0o600)
    return Night(raw=root / "raw", key_file=key_file)


