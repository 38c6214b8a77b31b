"""The store's layout and the calendar arithmetic every reader of it must share.

One Delta table, ``<store>/employees``, append-only: a row is an employee's full HRIS state
(``hire_date, birth_date, job_role, monthly_income, termination_date``) as first shown by the extract
of date ``valid_from``; a refresh appends a row only for employees whose state changed. So the
attributes over time are the rows themselves (SCD type 2, the next row of an employee closes one), and
the terminations are the rows' ``termination_date`` as of a date. One table rather than an attributes
and a terminations table, so that one extract is one atomic commit and a training set pins one version.

Each commit carries the Delta transaction id ``attrition.hris.extract`` (``txn``; its version is the
latest extract date applied, as days since 1970-01-01) and the extract's date, file hash and counts in
its commit metadata.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, timedelta

import pyarrow as pa

# The calendar rule lives in the base (the out-of-time split shares it); re-exported for the store.
from attrition.dataset import add_months as add_months
from attrition.dataset import is_month_end as is_month_end

TABLE = "employees"
APP_ID = "attrition.hris.extract"  # the Delta txn whose version is the latest applied extract date
EPOCH = date(1970, 1, 1)
STATE_COLUMNS: tuple[str, ...] = (
    "hire_date",
    "birth_date",
    "job_role",
    "monthly_income",
    "termination_date",
)
CHANGE_SCHEMA = pa.schema(
    [
        pa.field("employee_id", pa.string(), nullable=False),
        pa.field("valid_from", pa.date32(), nullable=False),
        pa.field("hire_date", pa.date32(), nullable=False),
        pa.field("birth_date", pa.date32(), nullable=False),
        pa.field("job_role", pa.string(), nullable=False),
        pa.field("monthly_income", pa.float64(), nullable=False),
        pa.field("termination_date", pa.date32(), nullable=True),
    ]
)
# Read from the environment for an s3:// store (delta-rs's object-store option names). deltalake 1.x
# commits to S3 with conditional puts (If-None-Match), so no lock table or unsafe-rename option.
S3_ENVIRONMENT = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_ALLOW_HTTP",
)
_MONTHS = re.compile(r"([1-9]\d{0,2})mo")


class FeatureStoreError(ValueError):
    """Input the store refuses (a bad extract, an older one, an unknown version); one line per problem."""


def table_uri(store_uri: str) -> str:
    """The Delta table's location inside a store: a local folder or ``s3://bucket/prefix``."""
    return f"{store_uri.rstrip('/')}/{TABLE}"


def storage_options(store_uri: str, environ: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """delta-rs storage options for `store_uri` from the environment; None for a local folder."""
    if "://" not in store_uri or store_uri.startswith("file://"):
        return None
    env = os.environ if environ is None else environ
    return {name: env[name] for name in S3_ENVIRONMENT if env.get(name)}


def parse_date(text: str, what: str) -> date:
    """A YYYY-MM-DD date, or FeatureStoreError naming `what`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FeatureStoreError(f"{what} {text!r} is not a date; allowed: YYYY-MM-DD") from None


def parse_months(text: str, what: str) -> int:
    """``12mo`` -> 12 (1-999 months), or FeatureStoreError naming `what`."""
    match = _MONTHS.fullmatch(text.strip())
    if match is None:
        raise FeatureStoreError(f"{what} {text!r} is not a number of months; allowed: e.g. 12mo, 1mo")
    return int(match.group(1))


def to_days(day: date) -> int:
    """Days since 1970-01-01: how a date is kept as a Delta txn version."""
    return (day - EPOCH).days


def from_days(days: int) -> date:
    return EPOCH + timedelta(days=days)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_S3_CODE = re.compile(r"<Code>([^<]+)</Code>")


def error_line(error: Exception) -> str:
    """delta-rs reports a chain of causes over many lines: the first and the root cause, on one."""
    lines = [_ANSI.sub("", line).replace("↳", "").strip() for line in str(error).splitlines()]
    parts = [line for line in lines if line and not line.startswith("<")]
    if not parts:
        return type(error).__name__
    code = _S3_CODE.search(str(error))
    root = f"{parts[-1]} ({code.group(1)})" if code else parts[-1]
    return parts[0] if len(parts) == 1 else f"{parts[0]}: {root}"
