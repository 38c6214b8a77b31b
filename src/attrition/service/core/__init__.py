"""The service's logic with no web framework in it: tokens, model state, scoring, audit, metrics.

Layers, lowest first: settings and schemas, then core, then api, then app and commands. Modules
here import only the layers below them, so they can be tested and reused without FastAPI.
"""
