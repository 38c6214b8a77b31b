"""The same refreshes, training set and materialization against S3 (moto's server on 127.0.0.1) as on a
local folder: same versions, same bytes; credentials and endpoint only from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from attrition.features.cli import main
from attrition.method.synthetic import generate_frame, to_csv_text
from attrition.pipeline.extract import main as extract_main
from tests.features.builders import hris_params, simulated, write_csvs

pytestmark = pytest.mark.e2e

BUCKET = "attrition-features"
MONTHS = 14


@pytest.fixture
def s3_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    try:
        yield f"s3://{BUCKET}/store"
    finally:
        server.stop()


def test_an_s3_store_behaves_like_a_local_one(
    s3_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = write_csvs(tmp_path / "hris", simulated(300, MONTHS, seed=9))
    local = str(tmp_path / "local")
    for store in (s3_store, local):
        for path in paths:
            as_of = path.stem.removeprefix("hris_")
            assert main(["refresh", "--store", store, "--hris", str(path), "--as-of", as_of]) == 0
        assert main(["refresh", "--store", store, "--hris", str(paths[-1]), "--as-of", "2024-02-29"]) == 0
        assert f"nothing changed (table version {MONTHS - 1})" in capsys.readouterr().out.splitlines()[-1]
        assert main(["refresh", "--store", store, "--hris", str(paths[0]), "--as-of", "2023-01-31"]) == 2
        assert "older than the latest applied extract 2024-02-29" in capsys.readouterr().err
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="store/employees/_delta_log/")
    logs = sorted(item["Key"].rsplit("/", 1)[-1] for item in listed["Contents"])
    assert logs[0] == "00000000000000000000.json" and f"{MONTHS - 1:020d}.json" in logs

    for store, name in ((s3_store, "s3"), (local, "local")):
        args = ["--store", store, "--as-of", "2024-02-29"]
        assert main(["training-set", *args, "--horizon", "12mo", "--out", str(tmp_path / f"{name}.csv")]) == 0
        assert main(["materialize", *args, "--out", str(tmp_path / f"{name}.json.gz")]) == 0
    assert (tmp_path / "s3.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert (tmp_path / "s3.json.gz").read_bytes() == (tmp_path / "local.json.gz").read_bytes()
    assert len((tmp_path / "s3.csv").read_text().splitlines()) > 500  # 2 snapshots of ~300

    # stage extract (dvc exp run -S data.source=hris -S data.store=s3://...) reads the same rows
    for store, name in ((s3_store, "s3"), (local, "local")):
        folder = tmp_path / f"extract-{name}"
        folder.mkdir()
        params = hris_params(folder, store, MONTHS - 1, as_of="2024-02-29")
        seed = folder / "employee_attrition_v3.csv"
        seed.write_text(to_csv_text(generate_frame(3, 800)))  # unused by hris, but a dep of the stage
        rows = ["--out", str(folder / "rows.csv"), "--record", str(folder / "rows.json")]
        assert extract_main(["--params", str(params), "--seed-data", str(seed), *rows]) == 0
    extracted = (tmp_path / "extract-s3" / "rows.csv").read_bytes()
    assert extracted == (tmp_path / "extract-local" / "rows.csv").read_bytes()
    assert extracted == (tmp_path / "s3.csv").read_bytes()
    assert f'"store": "{s3_store}"' in (tmp_path / "extract-s3" / "rows.json").read_text()


def test_a_bucket_that_does_not_exist_is_one_line_exit_1(
    s3_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = write_csvs(tmp_path / "hris", simulated(20, 1, seed=9))
    args = ["refresh", "--store", "s3://no-such-bucket/store", "--hris", str(paths[0])]
    assert main([*args, "--as-of", "2023-01-31"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: store s3://no-such-bucket/store: ") and err.count("\n") == 1
    assert err.endswith("404 Not Found (NoSuchBucket)\n"), err
