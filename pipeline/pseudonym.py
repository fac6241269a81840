"""Keyed HMAC-SHA256 pseudonyms, and where the key comes from.

A pseudonym is stable for as long as the key is, so ML teams can join on it, but nobody without the
key can go from a pseudonym back to the identifier, or test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import UserError

KEY_ENV = "SCRUBLINE_HMAC_KEY"
MIN_KEY_BYTES = 32
PID_HEX_CHARS = 16
# Prefixes make a pseudonym's kind obvious and give validation a format to check.
PREFIXES = {"user": "u_", "record": "r_", "conversation": "c_", "person": "p_", "session": "s_"}
PID_PATTERN = r"^[urcps]_[0-9a-f]{16}$"
# A person mentioned in text is written with consonants instead of hex digits: no digit of a pseudonym can pass for
# (or be aligned with) a number around it, and no run of its letters spells a word.
_HEX_TO_CONSONANTS = str.maketrans("0123456789abcdef", "bcdfghjkmnpqrstv")
MENTION_PATTERN = r"p_[b-df-hj-np-tv]{16}"


class MissingKeyError(UserError, RuntimeError):
    """No HMAC key was configured; the run refuses to start rather than emit unkeyed hashes."""


@dataclass(frozen=True)
class Pseudonymizer:
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) < MIN_KEY_BYTES:
            raise MissingKeyError(f"the HMAC key must be at least {MIN_KEY_BYTES} bytes")

    @property
    def key_id(self) -> str:
        """A fingerprint that tells keys apart in manifests without revealing the key."""
        return hmac.new(self.key, b"scrubline-key-id", hashlib.sha256).hexdigest()[:12]

    def pid(self, kind: str, value: str) -> str:
        digest = hmac.new(self.key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()
        return PREFIXES[kind] + digest[:PID_HEX_CHARS]

    def mention(self, subject: str) -> str:
        """The in-text pseudonym of a person: the person pid in letters (see MENTION_PATTERN)."""
        return self.pid("person", subject).translate(_HEX_TO_CONSONANTS)

    def jitter(self, value: str, amplitude: int) -> int:
        """A keyed, repeatable offset in [-amplitude, amplitude]: re-running a night gives the same rows."""
        if amplitude <= 0:
            return 0
        digest = hmac.new(self.key, f"jitter\x1f{value}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") % (2 * amplitude + 1) - amplitude

    def seed(self, kind: str, value: str) -> int:
        """A keyed, repeatable 64-bit seed (for draws that must be the same on a re-run, unguessable without the key)."""
        digest = hmac.new(self.key, f"seed\x1f{kind}\x1f{value}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big")

    def bucket(self, value: str) -> float:
        """A uniform number in [0, 1) from a pseudonym, used to assign splits."""
        digest = hmac.new(self.key, f"split\x1f{value}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def split(self, user_pid: str, fractions: tuple[float, float]) -> str:
        """`validation`, `test` or `train` for a user, from the keyed bucket of their pseudonym and the policy's
        (validation, test) fractions: each split gets its fraction of users in expectation, a user is in one
        split only, and in the same one every night while the key (and the fractions) hold. Validation takes
        the bucket's first interval, so adding a test fraction never moves a validation user."""
        bucket = self.bucket(user_pid)
        validation, test = fractions
        return "validation" if bucket < validation else "test" if bucket < validation + test else "train"


def load_key(key_file: str | Path | None = None) -> Pseudonymizer:
    """The key from --key-file, else from $SCRUBLINE_HMAC_KEY; no key is an error, never a default."""
    if key_file:
        key = read_key_file(Path(key_file))
    elif os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode()
    else:
        raise MissingKeyError(
            f"no HMAC key: set {KEY_ENV} or pass --key-file (the demo makes its own key file)"
        )
    return Pseudonymizer(key)


def read_key_file(path: Path) -> bytes:
    """A key file's key, refused (as ssh refuses a private key) when others may read it or it is not ours."""
    try:
        info = path.stat()
        if info.st_mode & 0o077:
            raise MissingKeyError(
                f"key file {path} is accessible by others (mode {info.st_mode & 0o777:04o}); run: chmod 600 {path}"
            )
        if info.st_uid not in (os.getuid(), 0):
            raise MissingKeyError(f"key file {path} belongs to another user; it must be this user's or root's")
        return path.read_bytes().strip()
    except OSError as exc:
        raise MissingKeyError(f"cannot read key file {path}: {exc.strerror}") from None


def create_key_file(path: str | Path) -> Path:
    """Write a fresh random key readable only by its owner (demo use); keep an existing one."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    os.chmod(path, 0o600)
    return path
