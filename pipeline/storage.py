"""Where a root lives: a local folder, or a URL that fsspec opens (`s3://bucket/prefix` on any S3-compatible store).

Local roots stay plain `pathlib.Path` folders (POSIX modes, symlinks, renames: pipeline.publish). A URL root is
a `upath.UPath`, read and written through fsspec. Credentials and the endpoint come from where the filesystem's
library looks for them (for s3fs: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
`AWS_PROFILE`, `AWS_ENDPOINT_URL`, an instance role), never from the policy or the command line, so no secret
reaches a log, XCom or Airflow's database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import fsspec
from fsspec.utils import get_protocol
from upath import UPath

from pipeline.errors import ConfigError

LOCAL_PROTOCOLS = ("file", "local")
# No cached listings: a long-lived worker must see a partition's files as they are now (the plan's file list
# is checked again by every chunk), and a reader polling `current` must see each new commit.
STORAGE_OPTIONS = {"use_listings_cache": False}


def is_remote(root: str | os.PathLike[str]) -> bool:
    """Whether a root is a URL of a filesystem other than the local one."""
    return not isinstance(root, Path) and get_protocol(str(root)) not in LOCAL_PROTOCOLS


def location(root: str | os.PathLike[str]) -> Path | UPath:
    """The root as a path object: a plain Path locally, a UPath (same API, fsspec underneath) for a URL."""
    if isinstance(root, (Path, UPath)):
        return root
    if not is_remote(root):
        return Path(str(root).removeprefix("file://"))
    try:
        return UPath(str(root), **STORAGE_OPTIONS)
    except (ImportError, ValueError) as exc:  # an unknown protocol, or its library is not installed
        protocol = get_protocol(str(root))
        raise ConfigError(
            f"cannot open {protocol}:// roots: {type(exc).__name__} (for s3:// install the `s3` extra: pip install 'scrubline[s3]')"
        ) from None


def open_input(path: Path | UPath) -> IO[bytes]:
    """A file's bytes, locally or through fsspec."""
    return path.open("rb")


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of a URL and the path inside it (no protocol, no trailing slash)."""
    try:
        fs, path = fsspec.core.url_to_fs(url, **STORAGE_OPTIONS)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"cannot open {get_protocol(url)}:// roots: {type(exc).__name__}") from None
    return fs, path.rstrip("/")


def inside(path: str, root: str) -> bool:
    """Whether one URL is, or lies under, another (same protocol and bucket, prefix by whole segments)."""
    a, b = str(path).rstrip("/"), str(root).rstrip("/")
    return a == b or a.startswith(b + "/")
