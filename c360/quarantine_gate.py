"""The quarantine gate's messages, read back after a failed `dbt build`.

The dbt tests `quarantine_gate_contacts` and `quarantine_gate_transactions` (generic test
`quarantine_share_within_limit`) store their failing rows (store_failures) with a `message`
naming the source, reason, count, two example values and the fix. dbt itself prints only
"Got 1 result"; `c360.build` prints these messages instead.
"""

from __future__ import annotations

import json
from pathlib import Path

from c360.warehouse import Warehouse, WarehouseError, query, quote_identifier

GATE_PREFIX = "test.c360.quarantine_gate_"


def failed_gate_relations(run_results: Path) -> list[tuple[str, str]]:
    """(schema, table) of every failed gate test in dbt's run_results.json (none if unreadable)."""
    try:
        results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []
    relations = []
    for result in results:
        if not result["unique_id"].startswith(GATE_PREFIX) or result["status"] != "fail":
            continue
        parts = [p.strip('"`') for p in (result.get("relation_name") or "").split(".")]
        if len(parts) >= 2:
            relations.append((parts[-2], parts[-1]))
    return sorted(relations)


def gate_messages(run_results: Path, warehouse: Warehouse) -> list[str]:
    """The messages of the failed gate tests of the last `dbt build` (empty when none failed)."""
    messages: list[str] = []
    for schema, table in failed_gate_relations(run_results):
        sql = f"select message from {quote_identifier(schema)}.{quote_identifier(table)} order by reason"
        try:
            messages += [str(m) for m in query(warehouse, sql)["message"]]
        except (WarehouseError, ValueError) as exc:
            messages.append(f"{schema}.{table}: the gate failed but its rows are unreadable ({exc})")
    return messages
