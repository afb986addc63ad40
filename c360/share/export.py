"""Read the built share models from the warehouse and write a partner delivery.

A delivery is one directory with `<model>.parquet` and `<model>.csv` per share model and a
`manifest.json` (row counts, k, salt fingerprint and source, checksums). Files are written into
a temporary sibling directory first and moved in place one by one, the manifest last, so a
failed export never leaves a manifest describing files that are not there.
Parquet is written uncompressed so the delivery can be audited byte by byte (e.g. with grep).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from c360.share.handoff import private_dir, private_file
from c360.warehouse import Warehouse, WarehouseError, query_arrow

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
EXPORT_TARGETS = ("duckdb", "postgres")


class ShareExportError(RuntimeError):
    """The share models cannot be read or written; the message says what to run or fix."""


@dataclass(frozen=True)
class ShareModel:
    """One share model as described by dbt's manifest.json."""

    name: str
    schema: str
    identifier: str
    quasi_identifiers: tuple[str, ...]
    source_model: str | None = None
    source_schema: str | None = None
    source_identifier: str | None = None


def warehouse_from_env(env: Mapping[str, str]) -> Warehouse:
    """The warehouse named by `DBT_TARGET`, `C360_DUCKDB_PATH` and `C360_PG_*` in `env` (a test's env)."""
    target = env.get("DBT_TARGET", "duckdb").strip().lower()
    if target not in EXPORT_TARGETS:
        raise ShareExportError(
            f"make share exports from {' or '.join(EXPORT_TARGETS)}; DBT_TARGET={target!r}"
        )
    return Warehouse.from_env(env)


def share_models(manifest_path: Path) -> list[ShareModel]:
    """The enabled models of schema `share` in dbt's manifest.json, with their quasi-identifiers."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ShareExportError(f"{manifest_path}: no dbt manifest; the share build did not run") from exc
    nodes = manifest["nodes"]
    models = []
    for node in nodes.values():
        if node["resource_type"] != "model" or node["schema"] != "share":
            continue
        columns = node["columns"].items()
        quasi = tuple(name for name, col in columns if col.get("meta", {}).get("pii") == "quasi")
        source_name = node["config"].get("meta", {}).get("share_source")
        source = nodes.get(f"model.{node['package_name']}.{source_name}") if source_name else None
        models.append(ShareModel(
            name=node["name"], schema=node["schema"], identifier=node["alias"], quasi_identifiers=quasi,
            source_model=source_name,
            source_schema=source["schema"] if source else None,
            source_identifier=source["alias"] if source else None,
        ))
    for model in models:
        for part in (model.schema, model.identifier, *model.quasi_identifiers,
                     model.source_schema or "x", model.source_identifier or "x"):
            if not IDENTIFIER.match(part):
                raise ShareExportError(f"{manifest_path}: unexpected identifier {part!r} in {model.name}")
    if not models:
        raise ShareExportError(f"{manifest_path}: no enabled share models (was the salt var passed?)")
    return sorted(models, key=lambda m: m.name)


def _checked(schema: str, identifier: str) -> str:
    for part in (schema, identifier):
        if not IDENTIFIER.match(part):
            raise ShareExportError(f"refusing to read unexpected identifier {part!r}")
    return f"{schema}.{identifier}"


def _fetch(warehouse: Warehouse, sql: str) -> pa.Table:
    """Run one read-only query (fixed SQL, no user input) and return the rows as an Arrow table."""
    try:
        return query_arrow(warehouse, sql)
    except WarehouseError as exc:
        raise ShareExportError(f"{warehouse.describe()}: {exc}") from exc


def read_table(warehouse: Warehouse, schema: str, identifier: str) -> pa.Table:
    """All rows of `schema.identifier` (identifiers checked against IDENTIFIER), ordered by every column."""
    name = _checked(schema, identifier)
    width = _fetch(warehouse, f"select * from {name} limit 0").num_columns
    order = ", ".join(str(i) for i in range(1, width + 1))
    return _fetch(warehouse, f"select * from {name} order by {order}")


def count_rows(warehouse: Warehouse, schema: str, identifier: str) -> int:
    """Row count of `schema.identifier` (identifiers checked against IDENTIFIER)."""
    table = _fetch(warehouse, f"select count(*) as n from {_checked(schema, identifier)}")
    return int(table.column(0)[0].as_py())


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _summary(model: ShareModel, table: pa.Table) -> dict[str, Any]:
    generalised = {}
    for column in model.quasi_identifiers:
        values = table.column(column).to_pylist()
        generalised[column] = sum(1 for value in values if value == "*")
    return {
        "name": model.name,
        "rows": table.num_rows,
        "columns": table.column_names,
        "quasi_identifiers": list(model.quasi_identifiers),
        "rows_with_value_generalised_to_star": generalised,
    }


def write_delivery(out_dir: Path, tables: Mapping[str, tuple[ShareModel, pa.Table, int | None]],
                   header: Mapping[str, Any]) -> dict[str, Any]:
    """Write `<name>.parquet`, `<name>.csv` per table and `manifest.json` into `out_dir`; return the manifest.

    tables: name -> (model, rows, row count of its source model or None).
    header: manifest fields describing the build (created_at, dbt_target, k, salt...).
    """
    private_dir(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=".share-", dir=out_dir))  # 0700
    try:
        entries = []
        for name, (model, table, source_rows) in sorted(tables.items()):
            entry = _summary(model, table)
            if source_rows is not None:
                entry["source_model"] = model.source_model
                entry["source_rows"] = source_rows
                entry["rows_left_out"] = source_rows - table.num_rows
            files = {}
            parquet_path, csv_path = staging / f"{name}.parquet", staging / f"{name}.csv"
            pq.write_table(table, parquet_path, compression="none")
            pa_csv.write_csv(table, csv_path)
            for path in (parquet_path, csv_path):
                private_file(path)
            for kind, path in (("parquet", parquet_path), ("csv", csv_path)):
                files[kind] = {"file": path.name, "bytes": path.stat().st_size, "sha256": _sha256_file(path)}
            entry["files"] = files
            entries.append(entry)
        manifest = {**header, "models": entries}
        text = json.dumps(manifest, indent=2, default=str) + "\n"
        manifest_path = staging / "manifest.json"
        manifest_path.write_text(text, encoding="utf-8")
        private_file(manifest_path)
        for path in sorted(staging.iterdir(), key=lambda p: p.name == "manifest.json"):
            path.replace(out_dir / path.name)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
