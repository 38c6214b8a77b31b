"""``python -m attrition.lifecycle.gate``: the same command as `attrition gate`."""

from attrition.lifecycle.gate.cli import main

raise SystemExit(main())
