"""Features by employee id at serving: the online store file loaded whole, looked up in memory.

`attrition features materialize` writes the file (attrition.features.online); the runtime loads it
with `load_online_store` at start-up and again whenever the file changes, and swaps the new store in
with one reference assignment, exactly as it swaps a model. A request reads that reference once, so
every employee of a batch is looked up in the same store version, and a lookup is a dict access:
no file is read per request.

A by-id request that cannot be answered raises a LookupRefusedError whose subclass says why (the API
answers 404, 410 or 503). Nothing here logs: the ids and features are employee data.

The file is gzip-compressed JSON that attrition.features.online reads with the standard library
alone: the serving image, which has no pyarrow, numpy or pandas, loads it (tests/service/core/
test_online_features.py runs a load with those imports blocked). The module is still imported only
when a file is loaded, so a service without online features never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrition.audit.database import one_line
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.schemas import EmployeeFeatures, FeatureSource, tenure_warnings

if TYPE_CHECKING:
    from attrition.features.online import OnlineStore

SETTING = "ATTRITION_ONLINE_FEATURES"
NOT_LOADED = "no online feature store is loaded"
NOT_GZIP_JSON = "not a readable gzip-compressed JSON file"
NOT_ONLINE_FILE = "not an online feature file (attrition features materialize)"


class OnlineFeaturesLoadError(Exception):
    """A file the service cannot serve features from: str() for the log (with the path), `public`
    for /readyz (fixed wording only: the endpoint is open)."""

    def __init__(self, detail: str, public: str) -> None:
        super().__init__(detail)
        self.public = public


def _detail(path: Path, error: BaseException) -> str:
    """The log's line: the path, then the error's first line (without the path again)."""
    return f"{path}: {one_line(error).removeprefix(f'{path}: ')}"


def load_online_store(path: Path) -> OnlineStore:
    """Read a materialized file; OnlineFeaturesLoadError (one line) for anything unreadable."""
    import gzip
    import json
    import zlib

    from attrition.features.online import CorruptOnlineFile, OnlineStore

    try:
        return OnlineStore.load(path)
    except FileNotFoundError:
        raise OnlineFeaturesLoadError(f"{path}: no such file", "the file does not exist") from None
    # OnlineStore.load reports bad gzip or JSON as CorruptOnlineFile; the raw errors are named too so a
    # change there cannot turn them into "could not be read" (BadGzipFile is an OSError) or a traceback.
    except (CorruptOnlineFile, gzip.BadGzipFile, EOFError, zlib.error, json.JSONDecodeError) as error:
        raise OnlineFeaturesLoadError(_detail(path, error), NOT_GZIP_JSON) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise OnlineFeaturesLoadError(f"{path}: {reason}", "the file could not be read") from None
    except (ValueError, KeyError, TypeError) as error:  # another format, missing keys, wrong types or dates
        raise OnlineFeaturesLoadError(_detail(path, error), NOT_ONLINE_FILE) from None


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """(mtime ns, size, inode) of `path`, None while it does not exist: an atomic replace that
    keeps size and modification time still changes the inode."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


@dataclass(frozen=True)
class ResolvedFeatures:
    """The features one employee is scored with, and where they came from (see Prediction)."""

    values: dict[str, Any] | None  # None: nothing was read (a by-id batch-score answer)
    source: FeatureSource | None
    table_version: int | None = None
    as_of: date | None = None

    def warnings(self) -> list[str]:
        """Implausible tenure in these features (none when there are none)."""
        if self.values is None:
            return []
        return tenure_warnings(self.values["age"], self.values["years_at_company"])


class LookupRefusedError(Exception):
    """A by-id request the online store cannot answer; the message is the public `detail`."""


class EmployeeUnknownError(LookupRefusedError):
    """The store does not know the id (404)."""


class EmployeeLeftError(LookupRefusedError):
    """The employee had left by the store's as-of date (410)."""


class OnlineFeaturesUnavailableError(LookupRefusedError):
    """No store to look in. Not configured: a request this service cannot take (422 at the id's
    field, `index` its position in a batch); configured but not loaded (yet): 503, retry later."""

    def __init__(self, message: str, *, configured: bool, index: int | None = None) -> None:
        super().__init__(message)
        self.configured = configured
        self.index = index


def _unavailable(employee_id: str, index: int | None, configured: bool) -> OnlineFeaturesUnavailableError:
    """Why there is no store to look `employee_id` up in, and what the caller can do instead."""
    if not configured:
        return OnlineFeaturesUnavailableError(
            f"a look-up by employee_id alone needs the online feature store, and {SETTING} is not set "
            "on this service; send all four features (age, job_role, monthly_income, years_at_company)",
            configured=False,
            index=index,
        )
    where = "" if index is None else f"employees[{index}]: "
    return OnlineFeaturesUnavailableError(
        f"{where}employee_id {employee_id}: {NOT_LOADED} (the reason is in the service log); send all "
        "four features or retry later",
        configured=True,
        index=index,
    )


def resolve_features(
    employees: Sequence[EmployeeFeatures],
    store: OnlineStore | None,
    *,
    configured: bool,
    metrics: ServiceMetrics,
    batch: bool,
    look_up: bool = True,
) -> list[ResolvedFeatures]:
    """Each employee's features: as sent, or from `store` for an id alone (when `look_up`).

    All or nothing, like the rest of a request: the first id that cannot be answered raises its
    LookupRefusedError (named by its position in a batch). `look_up` False (no model loaded: the
    nightly batch score answers by id) leaves by-id employees without features.
    """
    resolved: list[ResolvedFeatures] = []
    for index, employee in enumerate(employees):
        if not employee.by_id:
            resolved.append(ResolvedFeatures(employee.features(), "request"))
            continue
        employee_id = employee.employee_id
        assert employee_id is not None  # the schema allows no features only with an id
        if not look_up:
            resolved.append(ResolvedFeatures(None, None))
            continue
        where = f"employees[{index}]: " if batch else ""
        if store is None:
            metrics.count_lookup("unavailable")
            raise _unavailable(employee_id, index if batch else None, configured)
        try:
            values = store.get(employee_id)
        except LookupError as error:
            # Imported when the store was loaded: here only a sys.modules lookup, on the refusal path.
            from attrition.features.online import TerminatedEmployee

            if isinstance(error, TerminatedEmployee):
                metrics.count_lookup("terminated")
                raise EmployeeLeftError(
                    f"{where}employee {employee_id} left on {error.termination_date} (online feature "
                    f"store as of {store.as_of}): no score for a former employee"
                ) from None
            metrics.count_lookup("unknown")  # UnknownEmployee
            raise EmployeeUnknownError(
                f"{where}employee {employee_id} is not in the online feature store (as of "
                f"{store.as_of}, table version {store.table_version}); send all four features to score "
                "someone it does not know"
            ) from None
        metrics.count_lookup("found")
        resolved.append(ResolvedFeatures(values, "online_store", store.table_version, store.as_of))
    return resolved
