"""Which night a DAG run scrubs.

Under Airflow 3's default timetable a `@daily` run fires at midnight and its logical date is that midnight,
the start of a day that has only just begun; a run triggered by hand may have no logical date at all. So the
night is never the logical date: it is the `ds` param when one is given (a manual run, or a re-run of one
night), otherwise the UTC calendar day before the moment the run was for, which is the day that just ended.
That moment is the data interval's end (under any timetable: a point-in-time cron run and an interval run
both end their interval at the midnight they fire) or, for a run with no logical date, the time it was
triggered.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from pipeline.errors import ConfigError

_DS = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
BAD_DS = "DAG param ds must be a calendar date written YYYY-MM-DD (or null: scrub the day that just ended)"


def night_for_run(ds_param: object, data_interval_end: datetime | None, run_after: datetime | None) -> str:
    """The night (YYYY-MM-DD) a run scrubs: `ds_param` if set, else the UTC day before the run's moment."""
    if ds_param is not None:
        if not isinstance(ds_param, str) or not _DS.match(ds_param):
            raise ConfigError(BAD_DS)
        try:
            date.fromisoformat(ds_param)
        except ValueError:
            raise ConfigError(BAD_DS) from None
        return ds_param
    moment = data_interval_end or run_after
    if moment is None:
        raise ConfigError("the DAG run has neither a data interval nor a trigger time; pass the param ds")
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # Airflow's times are UTC when naive
    return (moment.astimezone(UTC).date() - timedelta(days=1)).isoformat()
