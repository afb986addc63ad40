#!/usr/bin/env bash
# Entrypoint of the `app` service: wait for Postgres, generate demo data, load it, build the
# warehouse with dbt (DBT_TARGET=postgres), then exec the command (the image's CMD serves the
# Streamlit app). Every step is idempotent: a restart regenerates the same data (fixed seed),
# the loader replaces the raw tables atomically and dbt rebuilds the models.
set -euo pipefail
cd "${C360_APP_DIR:-/app}"

: "${C360_PG_HOST:=postgres}" "${C360_PG_PORT:=5432}" "${C360_PG_USER:=dbt}" "${C360_PG_DB:=dbt}"
: "${C360_DEMO_CUSTOMERS:=2000}" "${C360_DEMO_SEED:=42}" "${C360_WAIT_SECONDS:=60}"
: "${C360_RAW_DIR:=data/raw}"
export C360_PG_HOST C360_PG_PORT C360_PG_USER C360_PG_DB
export DBT_TARGET="${DBT_TARGET:-postgres}"
python="${PYTHON:-python}"

pg_ready() { pg_isready -q -h "$C360_PG_HOST" -p "$C360_PG_PORT" -U "$C360_PG_USER" -d "$C360_PG_DB"; }

echo "c360: waiting for Postgres at ${C360_PG_HOST}:${C360_PG_PORT} (up to ${C360_WAIT_SECONDS}s)"
for ((i = 0; i < C360_WAIT_SECONDS; i++)); do
  pg_ready && break
  sleep 1
done
if ! pg_ready; then
  echo "c360: Postgres at ${C360_PG_HOST}:${C360_PG_PORT} is not ready after ${C360_WAIT_SECONDS}s" >&2
  exit 1
fi

echo "c360: generating ${C360_DEMO_CUSTOMERS} demo customers (seed ${C360_DEMO_SEED}) in ${C360_RAW_DIR}"
"$python" -m data_gen generate --customers "$C360_DEMO_CUSTOMERS" --seed "$C360_DEMO_SEED" \
  --out "$C360_RAW_DIR" --quiet

echo "c360: loading the raw files into Postgres"
"$python" -m data_gen load --target postgres --dir "$C360_RAW_DIR" --quiet

echo "c360: building the warehouse (dbt, target ${DBT_TARGET})"
"$python" -m c360.build

if [[ $# -eq 0 ]]; then
  set -- streamlit run app.py --server.address 0.0.0.0 --server.port 8501 --server.headless true
fi
echo "c360: exec $*"
exec "$@"
