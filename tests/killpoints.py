"""Run a scrubline step in this process and SIGKILL it at an injected point: the fault tests' subprocess.

    python tests/killpoints.py publish STAGED CLEAN DS N   commit STAGED, killed just before its N-th change to
                                                           the file system (0: never; the count is printed)
    python tests/killpoints.py cli PHASE ARGS...           `scrubline ARGS...`, killed when PHASE is reached:
                                                           reading, scrubbing, validating, report

A kill is SIGKILL, so nothing of the process runs after it: no `finally`, no atexit, no flush.
"""

from __future__ import annotations

import builtins
import os
import signal
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
CHANGES = ("rename", "replace", "symlink", "link", "unlink", "remove", "rmdir", "mkdir", "chmod", "fchmod", "truncate")


def kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def count_changes(kill_at: int) -> list[int]:
    """Wrap every os call that changes the file system (and opening a file to write) with a counter."""
    seen = [0]

    def step() -> None:
        seen[0] += 1
        if seen[0] == kill_at:
            kill()

    def wrap(original):
        def changed(*args, **kwargs):
            step()
            return original(*args, **kwargs)

        return changed

    for name in CHANGES:
        setattr(os, name, wrap(getattr(os, name)))
    real_open, real_builtin_open = os.open, builtins.open

    def os_open(path, flags, *args, **kwargs):
        if flags & WRITE_FLAGS:
            step()
        return real_open(path, flags, *args, **kwargs)

    def builtin_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            step()
        return real_builtin_open(file, mode, *args, **kwargs)

    os.open, builtins.open = os_open, builtin_open
    return seen


def run_publish(staged: str, clean: str, ds: str, kill_at: str) -> None:
    from pipeline.contracts import DATASET_SCHEMAS
    from pipeline.publish import commit_night

    seen = count_changes(int(kill_at))
    commit_night(__import__("pathlib").Path(staged), clean, ds, list(DATASET_SCHEMAS), 0o640, 0o750)
    print(seen[0])


def run_cli(phase: str, args: list[str]) -> int:
    from pipeline import cli, run

    def killing(target, name, after_calls: int = 1):
        original = getattr(target, name)
        calls = [0]

        def wrapper(*a, **k):
            calls[0] += 1
            if calls[0] >= after_calls:
                kill()
            return original(*a, **k)

        setattr(target, name, wrapper)

    if phase == "reading":
        from pipeline import read

        original = read.file_records

        def records(path):
            for i, record in enumerate(original(path)):
                if i == 5:
                    kill()  # in the middle of a file, with a partition half read
                yield record

        read.file_records = records
    elif phase == "scrubbing":
        killing(run, "scrub_text_rows", after_calls=1)
    elif phase == "validating":
        killing(run, "validate_with_docs", after_calls=2)  # after the first dataset's shards are staged
    elif phase == "report":
        killing(run, "write_report", after_calls=2)  # the night's report is written, the datasets' not yet
    else:
        raise SystemExit(f"unknown phase {phase}")
    return cli.main(args)


if __name__ == "__main__":
    if sys.argv[1] == "publish":
        run_publish(*sys.argv[2:6])
    else:
        sys.exit(run_cli(sys.argv[2], sys.argv[3:]))
