"""``python -m attrition.lifecycle.registry``: the same command as `attrition registry`."""

from attrition.lifecycle.registry.cli import main

raise SystemExit(main())
