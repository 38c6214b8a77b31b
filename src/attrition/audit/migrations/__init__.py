"""Alembic revisions of the audit schema; run through attrition.audit.migrate, never by hand."""
