"""Real-time prediction service (issue #4): FastAPI app, fast scorer, audit store, CLI commands.

Nothing is imported here so that `attrition.service.fast_scorer` stays cheap to import and the
CLI only pulls in FastAPI when a service command actually runs.
"""
