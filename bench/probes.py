"""Helpers for `python -m bench`: database setup and the Python snippets each stage runs.

The snippets run in child processes (see `bench.stages.python_stage`) so their peak
memory is measured on its own; they print one machine-readable line at the end.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import psycopg2
from psycopg2 import sql

from c360 import config


def manifest_rows(manifest: dict[str, Any]) -> int:
    """Contacts + transactions rows written by the generator."""
    files = manifest["files"]
    return int(files["contacts"]["rows"]) + int(files["transactions"]["rows"])


def _admin_connection() -> Any:
    """A read-write connection to the `postgres` maintenance database (creates/drops scratch databases)."""
    settings = dataclasses.replace(config.pg_settings(), dbname="postgres")
    con = psycopg2.connect(settings.dsn())
    con.autocommit = True
    return con


def recreate_pg_database(name: str) -> None:
    """Drop and create the scratch database `name`, owned by the configured role."""
    drop_pg_database(name)
    con = _admin_connection()
    with con.cursor() as cur:
        cur.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    con.close()


def drop_pg_database(name: str) -> None:
    """Drop the scratch database `name` if it exists."""
    con = _admin_connection()
    with con.cursor() as cur:
        cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    con.close()


# The stages write (create/insert), so they open their own read-write connection on the
# warehouse `c360.warehouse` resolves; every read-only probe goes through `c360.warehouse.query`.
_CONNECT = """
import time
from c360.warehouse import Warehouse
warehouse = Warehouse.from_env()
if warehouse.engine == "duckdb":
    import duckdb
    con = duckdb.connect(str(warehouse.duckdb_path), config=warehouse.duckdb_config())
    def run(q):
        return con.execute(q).fetchall()
else:
    import psycopg2
    con = psycopg2.connect(warehouse.pg.dsn())
    con.autocommit = True
    cur = con.cursor()
    def run(q):
        cur.execute(q)
        return cur.fetchall() if cur.description else []
"""


def lower_bound_code(target: str) -> str:
    """Snippet: run the lower-bound statement and check it agrees with `marts.customers`."""
    from bench.lower_bound import lower_bound_sql

    statement = lower_bound_sql(target)
    return _CONNECT + f"""
run("drop table if exists bench_lower_bound")
started = time.perf_counter()
run({statement!r})
elapsed = time.perf_counter() - started
lb = run("select count(*), round(sum(total_spend), 2) from bench_lower_bound")[0]
mart = run("select count(*), round(sum(total_spend), 2) from marts.customers "
           "where order_count > 0 and not has_identity_conflict")[0]
run("drop table bench_lower_bound")
same = "same" if (lb[0], float(lb[1])) == (mart[0], float(mart[1])) else "DIFFERENT"
print(f"{{same}} customers/spend as the mart: {{lb[0]:,}} customers, {{float(lb[1]):,.2f}} spend")
"""


def publish_copy_code(target: str) -> str:
    """Snippet: the whole-build publish's copy step (c360/publish.py) on the built warehouse, timed:
    DuckDB copies the file to a candidate, Postgres seeds the `__next` shadow schemas; then
    discarded (nothing is published)."""
    return f"""
import time
from pathlib import Path
from c360 import config, publish
started = time.perf_counter()
if {target!r} == "duckdb":
    path = config.duckdb_path()
    candidate = publish.prepare_duckdb_candidate(path)
    size = candidate.stat().st_size
    elapsed = time.perf_counter() - started
    publish.discard_duckdb_candidate(path)
    print(f"copy {{elapsed:.3f}} s {{size / 2**20:,.0f}} MB file")
else:
    schemas = publish.dbt_schemas()
    publish.prepare_postgres_shadow(config.pg_settings().dsn(), schemas)
    elapsed = time.perf_counter() - started
    publish.discard_postgres_shadow(config.pg_settings().dsn(), schemas)
    print(f"copy {{elapsed:.3f}} s {{len(schemas)}} shadow schemas")
"""


def append_day_code(target: str) -> str:
    """Snippet: append one new day of transactions (copies of the last day's, new ids, loaded now)."""
    now_text = ("strftime(now()::timestamp, '%Y-%m-%d %H:%M:%S.%g')" if target == "duckdb"
                else "to_char(now() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.MS')")
    recent = ("try_cast(transaction_date as timestamp) >= now()::timestamp - interval 1 day"
              if target == "duckdb"
              else "transaction_date >= to_char(now() at time zone 'utc' - interval '1 day', 'YYYY-MM-DD')")
    return _CONNECT + f"""
run(\"\"\"insert into web.transactions
select contact_id, id || '-next-day', transaction_date, amount, item_count, category,
       order_id || '-next-day', {now_text},
       'bench_append.csv', _source_row_number
from web.transactions where {recent}\"\"\")
appended = run("select count(*) from web.transactions where _source_file = 'bench_append.csv'")
print(appended[0][0], "rows appended")
"""


def metric_latency_code() -> str:
    """Snippet: warm metric query through the Python client vs the same SQL run directly."""
    return """
import statistics, time
from c360.metrics.client import MetricsClient
from c360.warehouse import query
client = MetricsClient.from_env()
args = dict(metrics=["total_spend", "order_count"], group_by=["transaction__category"], time_grain="month")
client.query(**args)  # cold: loads the manifest, compiles the SQL
client_times, raw_times = [], []
query_sql = client.sql(**args)
for _ in range(7):
    t = time.perf_counter(); client.query(**args); client_times.append(time.perf_counter() - t)
    t = time.perf_counter(); query(client.warehouse, query_sql, times=True)
    raw_times.append(time.perf_counter() - t)
c, r = statistics.median(client_times), statistics.median(raw_times)
print(f"METRIC {c:.4f} {r:.4f}")
"""


def parse_metric_output(result: Any) -> tuple[float, str, float, str]:
    """(seconds, rate, peak_mb, note) for the metric row from the snippet's last line."""
    line = [ln for ln in result.output.splitlines() if ln.startswith("METRIC ")][-1]
    client, raw = (float(x) for x in line.split()[1:3])
    return client, "", result.peak_mb, f"raw SQL {raw * 1000:.0f} ms; client/raw {client / raw:.2f}x"


PAGES = ("overview", "customer", "segments", "data_quality", "recommendations", "metrics_explorer")


def app_render_code() -> str:
    """Snippet: render every page through AppTest twice; the second (warm) run is timed."""
    return f"""
import json, time
from streamlit.testing.v1 import AppTest
out = []
for page in {PAGES!r}:
    at = AppTest.from_file("app.py", default_timeout=120)
    at.run()
    at.switch_page(f"views/{{page}}.py").run()
    t = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t
    out.append([page, elapsed, "exception!" if at.exception else ""])
print("APP " + json.dumps(out))
"""


def parse_app_output(output: str) -> list[tuple[str, float, str]]:
    """[(page, warm seconds, note)] from the snippet's last line."""
    line = [ln for ln in output.splitlines() if ln.startswith("APP ")][-1]
    return [(page, float(seconds), note) for page, seconds, note in json.loads(line[4:])]
