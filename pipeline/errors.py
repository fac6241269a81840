"""The one base class of errors a user causes and can fix (a setting, an input file, a key, a busy night).

Their messages are one line that names the file, row or setting and never quotes a data value, so the CLI
and the DAG print them as they are; any other exception is a bug and is reported by its type only.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the run's inputs or settings; the message is one safe line."""


class ConfigError(UserError, ValueError):
    """A setting of the run (an argument, a DAG param, a root) is invalid or unsafe."""
