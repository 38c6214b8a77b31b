"""The admin log's hash chain: each entry's hash covers its content and the hash of the entry before.

Frozen on purpose: every stored entry was hashed with exactly this function (revision 0003 hashed the
entries logged before it), so changing the fields or their encoding would make every existing chain
fail verification. It imports nothing from the schema, so the migration can use it too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# The admin_log columns an entry's hash covers (not `id`: a row id says nothing about who did what).
CHAINED_FIELDS = ("ts", "created_at", "actor", "os_user", "action", "employee_id", "detail")


def entry_hash(prev_hash: str | None, entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the previous hash and the chained fields, as canonical JSON."""
    body = {name: entry[name] for name in CHAINED_FIELDS}
    text = json.dumps({"prev_hash": prev_hash, **body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
