"""`attrition gate`: the promotion gate on two package directories and a labelled CSV.

Load, judge, record: the three steps of :mod:`attrition.lifecycle.gate`, on paths given by hand
(the registry's promote runs them on the packages it fetched). Exit 0 pass, 1 fail, 3 insufficient
evidence, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attrition.dataset import DatasetError
from attrition.lifecycle.gate.load import GateInputError, load_inputs
from attrition.lifecycle.gate.record import judged_document, summary_lines, write_document
from attrition.lifecycle.gate.rules import EXIT_CODES
from attrition.lifecycle.lineage import project_root
from attrition.params import ParamsError, load_params


def main(argv: list[str] | None = None) -> int:
    """`attrition gate`: exit 0 pass, 1 fail, 3 insufficient evidence, 2 bad input."""
    parser = argparse.ArgumentParser(
        prog="attrition gate", description="The promotion gate: may a candidate package replace production?"
    )
    parser.add_argument("--candidate", type=Path, required=True, help="candidate package directory")
    parser.add_argument("--production", type=Path, required=True, help="production package directory")
    parser.add_argument(
        "--data", type=Path, required=True, help="labelled evaluation CSV (the evalset stage)"
    )
    parser.add_argument("--params", type=Path, help="gate limits (default: the repository's params.yaml)")
    parser.add_argument("--out", type=Path, help="write gate.json here")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params or project_root() / "params.yaml")
        inputs = load_inputs(args.candidate, args.production, args.data, list(params.evaluate.age_bands))
    except (GateInputError, ParamsError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    document = judged_document(inputs, params.gate)
    if args.out:
        write_document(args.out, document)
    print("\n".join(summary_lines(document)))
    return EXIT_CODES[document["verdict"]]


if __name__ == "__main__":
    raise SystemExit(main())
