"""Stage `generate`: the seed exercise's synthetic HR dataset, one CSV per dataset version.

The seed's ``generate_attrition_dataset(version)`` is the specification: for 800 rows the CSV here is
byte-identical to the one it writes, for every version. ``n_samples`` only changes how many rows are
drawn; the seeding and the order of random draws are the seed's.
"""

from __future__ import annotations

from pathlib import Path

from attrition.atomic import atomic_write_text
from attrition.method.synthetic import (
    generate_frame,
    to_csv_text,
)
from attrition.params import load_params
from attrition.pipeline.stage import run_stage, stage_parser


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("generate", "Generate one dataset version as CSV.")
    parser.add_argument("--out", type=Path, required=True, help="CSV path (from dvc.yaml)")
    args = parser.parse_args(argv)

    def body() -> None:
        params = load_params(args.params)
        frame = generate_frame(params.version, params.generate.n_samples)
        atomic_write_text(args.out, to_csv_text(frame))
        print(f"generate: {len(frame)} rows of dataset version {params.version} -> {args.out}")

    return run_stage("generate", body, run_record=args.run_record)


if __name__ == "__main__":
    raise SystemExit(main())
