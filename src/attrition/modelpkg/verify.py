"""`attrition verify DIR`: hashes first, unpickling second, predictions third.

The checks themselves live with the package format (attrition.modelpkg.artifact); this is the command. It is
its own process, so replaying the recorded sample predictions here checks the joblib round trip.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attrition.modelpkg.artifact import PackageError, verify_package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="attrition verify",
        description="Verify a model package: every SHA-256 against the manifest before anything is "
        "unpickled, then the recorded sample predictions. Exit 0 ok, 1 the package failed a check, "
        "2 usage.",
    )
    parser.add_argument("package", type=Path, help="package directory, e.g. models/attrition-model")
    args = parser.parse_args(argv)
    try:
        print(verify_package(args.package))
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
