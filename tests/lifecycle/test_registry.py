"""The registry's pure parts: reading GTO's JSON, the lineage a registration carries, the table."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from attrition.lifecycle.registry.api import build_lineage, lock_outs
from attrition.lifecycle.registry.cli import format_table, main
from attrition.lifecycle.registry.gto import (
    Registry,
    RegistryError,
    call_gto,
    current_stages,
    fetch_version,
    parse_lineage,
    previous_prod,
    stage_versions,
    version_rows,
)


def assignment(stage: str, at: str, *, active: bool = True) -> dict[str, Any]:
    return {"stage": stage, "is_active": active, "activated_at": at, "created_at": at}


def gto_version(version: str, commit: str, message: str, stages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": version,
        "commit_hexsha": commit,
        "created_at": "2026-11-26T00:33:42+00:00",
        "registrations": [{"message": message}],
        "stages": stages,
    }


LINEAGE = {
    "model_version": "v3-abc",
    "dataset": {"version": 3},
    "metrics": {"holdout": {"roc_auc": 0.8326, "precision": 0.344, "recall": 0.778}},
}


def test_stages_resolve_as_gto_summarises_them() -> None:
    summary = {"attrition-model": {"stage": {"prod": "v1.0.0", "staging": "v1.1.0"}}}
    assert current_stages(summary) == {"staging": "v1.1.0", "prod": "v1.0.0"}
    assert current_stages({}) == {"staging": None, "prod": None}


def test_version_rows_carry_lineage_and_held_stages() -> None:
    versions = [
        gto_version("v1.1.0", "b" * 40, "not json", [assignment("staging", "2")]),
        gto_version("v1.0.0", "a" * 40, json.dumps(LINEAGE), [assignment("prod", "1")]),
    ]
    rows = version_rows(versions, {"staging": "v1.1.0", "prod": "v1.0.0"})
    assert [(row.version, row.stages) for row in rows] == [("v1.1.0", ["staging"]), ("v1.0.0", ["prod"])]
    assert rows[0].lineage == {} and rows[1].lineage["model_version"] == "v3-abc"
    table = format_table(rows).splitlines()
    assert table[0].split()[:3] == ["version", "stages", "model_version"]
    assert table[2].split()[:8] == ["v1.0.0", "prod", "v3-abc", "v3", "0.833", "0.344", "0.778", "2026-11-26"]
    assert table[1].split()[2:7] == ["-", "-", "-", "-", "-"]  # registered by hand: no lineage, no figures


def test_parse_lineage_accepts_only_json_objects() -> None:
    assert parse_lineage('{"a": 1}') == {"a": 1}
    assert parse_lineage("[1]") == {} and parse_lineage("") == {}


def test_previous_prod_is_the_newest_other_assignment_still_in_effect() -> None:
    versions = [
        gto_version("v1.2.0", "c" * 40, "", [assignment("prod", "2026-11-26T00:37:00")]),
        gto_version("v1.1.0", "b" * 40, "", [assignment("prod", "2026-11-26T00:36:00", active=False)]),
        gto_version("v1.0.0", "a" * 40, "", [assignment("prod", "2026-11-26T00:34:00")]),
    ]
    assert previous_prod(versions, "v1.2.0") == "v1.0.0"
    assert previous_prod(versions[:1], "v1.2.0") is None


def test_lineage_names_package_data_evalset_code_and_build() -> None:
    lock = {
        "stages": {
            "package": {"outs": [{"path": "models/attrition-model", "md5": "p.dir"}]},
            "evalset": {"outs": [{"path": "data/evalset_v3.csv", "md5": "e"}]},
        }
    }
    assert lock_outs(lock) == {"models/attrition-model": "p.dir", "data/evalset_v3.csv": "e"}
    metadata = {**LINEAGE, "dataset": {"version": 3, "md5": "d", "rows": 800, "positives": 135}}
    built = {"train": {"host": "h", "started_at": "t", "duration_s": 1.0}}
    lineage = build_lineage(metadata, lock, commit="c" * 40, committed_at="2026", build_records=built)
    assert lineage["package_md5"] == "p.dir"
    assert lineage["evalset"] == {"path": "data/evalset_v3.csv", "md5": "e"}
    assert lineage["dataset"]["md5"] == "d" and lineage["code"]["commit"] == "c" * 40
    assert lineage["build"] == built
    json.dumps(lineage)  # it goes into a tag message
    assert "label" not in lineage["dataset"]  # seed registrations keep their former fields

    store = {"store": "s3://hr/store", "table_version": 35, "as_of": "2025-12-31", "snapshots": 24}
    from_store = {**metadata, "dataset": {**metadata["dataset"], "feature_store": store}}
    lineage = build_lineage(from_store, lock, commit="c" * 40, committed_at="2026", build_records=built)
    assert lineage["dataset"]["label"] == "t35"
    assert lineage["dataset"]["feature_store"] == {
        "store": "s3://hr/store",
        "table_version": 35,
        "as_of": "2025-12-31",
    }


def test_bad_usage_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(tmp_path), "promote", "v1.0.0", "--force"]) == 2
    assert "--force needs --reason" in capsys.readouterr().err
    assert main(["--repo", str(tmp_path), "show"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not a git+DVC repository" in err


def test_a_gto_failure_is_one_line_naming_the_action() -> None:
    def fails(repo: str, **_: Any) -> None:
        raise ValueError(f"while reading {repo}\n\ncould not find refs/tags/attrition-model@v9.0.0\n")

    with pytest.raises(RegistryError) as raised:
        call_gto("assign", fails, "/some/repo")
    assert str(raised.value) == "gto assign failed: could not find refs/tags/attrition-model@v9.0.0"
    assert raised.value.code == 1


def test_gto_in_process_refuses_a_folder_that_is_no_repository(tmp_path: Path) -> None:
    """GTO's own exception (not a git repo) becomes the registry's one-line error, as its CLI prints it."""
    with pytest.raises(RegistryError) as raised:
        stage_versions(str(tmp_path))
    assert str(raised.value).startswith("gto show failed: ") and "\n" not in str(raised.value)


def test_dvc_in_process_refuses_a_folder_that_is_no_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """DVC's own exceptions become one line naming the command, as `dvc artifacts get` would print it;
    DVC's log lines stay out of the registry's output, and nothing is written where the package would
    have gone."""
    with pytest.raises(RegistryError) as raised:
        fetch_version(str(tmp_path), "v1.0.0", tmp_path / "package")
    message = str(raised.value)
    assert message.startswith("dvc artifacts get failed: Failed to download artifact") and "\n" not in message
    assert not (tmp_path / "package").exists()
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    with pytest.raises(RegistryError) as raised:
        Registry(tmp_path, push=False).dvc_status()
    message = str(raised.value)
    assert message.startswith("dvc status failed: ") and "not inside of a DVC repository" in message
    assert capsys.readouterr() == ("", "")


def test_gto_results_are_plain_json_data() -> None:
    """Dates and enums arrive as `gto show --json` prints them: the rows' parsers read strings."""

    class Sort(Enum):
        TIMESTAMP = "timestamp"

    when = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    shown = call_gto("show", lambda repo, **_: [{"created_at": when, "sort": Sort.TIMESTAMP}], "/repo")
    assert shown == [{"created_at": "2026-12-04T15:00:00+00:00", "sort": "timestamp"}]
