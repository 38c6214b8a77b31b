"""The service's commands, one module each exposing `main(argv) -> int`: serve, token.

(`attrition audit` belongs to the audit store: attrition.audit.command.)

cli.py lists each module in its COMMANDS; `shell` holds what they share (one-line errors, exit 2,
settings from the environment plus flags).
"""
