"""Real-time prediction service (issue #4), split by layer.

settings.py, schemas.py   leaves: configuration and request/response bodies (pydantic only)
core/                      tokens, model state, batch scores, scoring-or-fallback, audit, metrics
api/                       FastAPI dependencies, routers, error handlers, OpenAPI, middleware
app.py                     the app factory (one router list)
commands/                  serve, token, audit: each `main(argv) -> int`

Nothing is imported here so the CLI only pulls in FastAPI when a service command actually runs.
"""
