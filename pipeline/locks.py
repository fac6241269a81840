"""One run per night: a lock file beside the night's staging folder, held while a step works on it.

The CLI's `run` holds it exclusively for the whole night; the DAG's scrub tasks share it (they run side by
side on one night), every other step holds it alone. A second run of the same night is refused at once with a
clear message instead of both failing halfway. The lock is an flock, so a killed run releases it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import UserError
from pipeline.files import PRIVATE_FILE, private_dir

_HELD: dict[str, int] = {}  # lock files this process holds, by path (a step inside `run` takes it again)


class NightBusy(UserError):
    """Another run holds the night."""


@contextmanager
def night_lock(path: Path, ds: str, shared: bool = False) -> Iterator[None]:
    """Hold the night's lock file at `path` (exclusively unless `shared`); refuse at once if it is taken."""
    private_dir(Path(path).parent)
    key = str(Path(path).parent.resolve() / Path(path).name)
    if key in _HELD:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NightBusy(
                f"ds={ds} is being processed by another run (lock {path}); wait for it to end, then run again"
            ) from None
        _HELD[key] = fd
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)


def inherit(path: Path) -> None:
    """In a worker process of a run that holds the night's lock: steps here run under the parent's lock."""
    _HELD[str(Path(path).parent.resolve() / Path(path).name)] = -1
