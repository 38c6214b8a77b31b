"""Builders and system set-up shared by tests (imported explicitly, never through conftest)."""
