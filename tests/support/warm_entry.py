"""A stand-in for attrition.cli as the stage server's entry point, for tests of the launcher itself.

``echo [CODE]`` prints what the fork sees (argv, cwd, umask, environment, streams) as JSON and exits
CODE; ``sleep`` writes its pid to the file named by WARM_TEST_PID and sleeps; ``die`` ends itself by
SIGTERM. The preload imports ``json`` only, so a server starts in milliseconds.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def stage_modules() -> dict[str, str]:
    return {"echo": "json", "sleep": "json", "die": "json"}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[0] == "echo":
        umask = os.umask(0)
        os.umask(umask)
        seen = {
            "argv": sys.argv,
            "cwd": str(Path.cwd()),
            "umask": umask,
            "environment": dict(os.environ),
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "stdin": sys.stdin.read(),
        }
        print(json.dumps(seen))
        print("to stderr", file=sys.stderr)
        return int(args[1]) if len(args) > 1 else 0
    if args[0] == "sleep":
        Path(os.environ["WARM_TEST_PID"]).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(60)
        return 0
    os.kill(os.getpid(), signal.SIGTERM)
    return 0
