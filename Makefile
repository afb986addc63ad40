# Customer 360 — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV        ?= .venv
PY          := $(CURDIR)/$(VENV)/bin/python
export DBT_TARGET        ?= duckdb
export C360_DUCKDB_PATH  ?= $(CURDIR)/data/c360.duckdb
export C360_SPARK_DIR    ?= $(CURDIR)/data/spark
export DBT_PROFILES_DIR  ?= $(CURDIR)/dbt_c360
export SPARK_LOCAL_IP    ?= 127.0.0.1
CUSTOMERS   ?= 5000
SEED        ?= 42
DAYS        ?= 365
FORMAT      ?= csv
RAW_DIR     ?= data/raw
PORT        ?= 8501
SHARE_OUT   ?= data/share
K_ANONYMITY ?= 5
SQLFLUFF_DIR ?= $(CURDIR)/data/sqlfluff
DBT         := cd dbt_c360 && $(CURDIR)/$(VENV)/bin/dbt

.PHONY: help setup setup-spark check-databricks data build app demo test test-spark spark-cluster-start spark-cluster-stop test-spark-cluster bench bench-metrics eval-recs share mf categories gen-metrics screenshots lint check-deprecations sqlfluff clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	$(PYTHON_BOOT) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed ## Create .venv and install pinned requirements (idempotent)

$(VENV)/.installed-spark: requirements-spark.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -r requirements-spark.txt
	touch $@

setup-spark: $(VENV)/.installed-spark ## Also install dbt-spark + pyspark (needs Java 17)

DBX_VENV ?= .venv-databricks
$(DBX_VENV)/.installed: requirements-databricks.txt
	$(PYTHON_BOOT) -m venv $(DBX_VENV)
	$(DBX_VENV)/bin/pip install --quiet --upgrade pip
	$(DBX_VENV)/bin/pip install --quiet -r requirements-databricks.txt
	touch $@

check-databricks: $(DBX_VENV)/.installed ## Parse + compile every node for the databricks target offline (own venv)
	$(DBX_VENV)/bin/python scripts/databricks_compile.py

data: setup ## Generate CUSTOMERS customers (SEED, DAYS, FORMAT csv|parquet) and load them into DBT_TARGET
	$(PY) -m data_gen generate --customers $(CUSTOMERS) --seed $(SEED) --days $(DAYS) --format $(FORMAT) --out $(RAW_DIR)
	$(PY) -m data_gen load --target $(DBT_TARGET) --dir $(RAW_DIR)

FRESHNESS   ?= error
FULL_REFRESH ?=
build: setup ## Load if needed, check source freshness (FRESHNESS=error|warn|skip), dbt build (FULL_REFRESH=1 rebuilds incrementals)
	C360_FRESHNESS=$(FRESHNESS) C360_FULL_REFRESH=$(FULL_REFRESH) $(PY) -m c360.build

app: setup ## Start the Streamlit app on DBT_TARGET (port PORT)
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true

demo: export DBT_TARGET := duckdb
demo: setup data build app ## Set up, generate, build and open the demo on DuckDB

# TEST_WORKERS=0: serial (no xdist). Otherwise pytest-xdist, one file per unit of work, slow files first
# (tests/workers.py: per-worker database/files/ports, SLOW_FILES, SPLIT_FILES).
TEST_WORKERS ?= 2
TEST_DIST   := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
test: setup ## Run the test suite on TEST_WORKERS (2) workers, 0 = serial (PYTEST_ARGS="tests/test_x.py -k y" for a part)
	$(PY) -m pytest -m "not spark" -q $(TEST_DIST) $(PYTEST_ARGS)

# The two Spark files (the comparison with DuckDB, the crash test) side by side, one worker each:
# each runs its own JVMs on its own metastore and warehouse folders.
test-spark: setup-spark ## Build the warehouse on local Spark and compare it with DuckDB (TEST_WORKERS files at once)
	$(PY) -m pytest -m spark -q $(TEST_DIST)

spark-cluster-start: setup-spark ## Start a Spark standalone cluster on 127.0.0.1 (Master + 2 Workers) for DBT_TARGET=spark_cluster
	$(PY) -m c360.cluster start

spark-cluster-stop: ## Stop the local Spark standalone cluster
	$(PY) -m c360.cluster stop

SPARK_CLUSTER_CUSTOMERS ?= 100000
test-spark-cluster: setup-spark ## Build SPARK_CLUSTER_CUSTOMERS (100k) on the standalone cluster and compare with DuckDB (not in CI: slow)
	$(PY) -m c360.cluster start
	C360_SPARK_TEST_TARGET=spark_cluster C360_SPARK_TEST_CUSTOMERS=$(SPARK_CLUSTER_CUSTOMERS) \
		$(PY) -m pytest -m spark -q -s tests/test_spark.py; status=$$?; $(PY) -m c360.cluster stop; exit $$status

bench: setup ## Benchmarks at 100k and 1M customers; writes bench/results/latest.md
	$(PY) -m bench

bench-metrics: setup ## Warm latency of every metric on demo data (DuckDB + Postgres); writes bench/results/metrics_latency.md
	$(PY) -m bench.metrics_latency $(ARGS)

eval-recs: setup ## Offline evaluation of the recommender vs baselines (ARGS="--datasets sample" for a quick run)
	$(PY) -m c360.recs.evaluation $(ARGS)

share: setup ## Export partner-safe share models (k-anonymous, salted keys) to SHARE_OUT after make build
	$(PY) -m c360.share.cli --out $(SHARE_OUT) --k $(K_ANONYMITY)

mf: setup ## MetricFlow on DBT_TARGET (dbt parse only when the project changed), e.g. make mf ARGS="query --metrics total_spend"
	$(PY) -m c360.metrics.mf $(ARGS)

screenshots: setup ## Refresh docs/screenshots from the browser test
	C360_UPDATE_SCREENSHOTS=1 $(PY) -m pytest -m e2e tests/test_e2e.py -q

CATEGORIES  ?=
CHECK       ?=
categories: setup ## Set the category seed from web.transactions on DBT_TARGET (or CATEGORIES=list.csv) and regenerate what derives from it; CHECK=1 only checks
	$(PY) -m c360.categories $(if $(CHECK),--check,$(if $(CATEGORIES),--csv $(CATEGORIES)))

gen-metrics: setup ## Alias: regenerate the files derived from the product_categories seed as it is (c360.categories --from-seed)
	$(PY) -m c360.categories --from-seed

lint: setup ## ruff, sqlfluff on the dbt SQL, and dbt's deprecation checks forced on
	$(VENV)/bin/ruff check .
	$(MAKE) --no-print-directory sqlfluff
	$(MAKE) --no-print-directory check-deprecations

check-deprecations: setup ## dbt parse with dbt's JSON-schema deprecation checks forced on (fails on any finding)
	$(PY) scripts/check_dbt_deprecations.py

sqlfluff: setup ## Lint the dbt SQL (sqlfluff, dbt templater) against a scratch DuckDB that holds only the seeds
	@# The templater compiles with execute=true, so customers.sql reads the product_categories seed:
	@# seed it into a throwaway DuckDB under data/ (git-ignored) so this runs on a clean clone, before any build.
	rm -rf $(SQLFLUFF_DIR) && mkdir -p $(SQLFLUFF_DIR)
	export DBT_TARGET=duckdb C360_DUCKDB_PATH=$(SQLFLUFF_DIR)/lint.duckdb DBT_TARGET_PATH=$(SQLFLUFF_DIR)/target \
	  DBT_LOG_PATH=$(SQLFLUFF_DIR)/logs \
	  && ($(DBT) seed --select product_categories --quiet) \
	  && $(VENV)/bin/sqlfluff lint dbt_c360

clean: ## Remove generated data and dbt artifacts
	rm -rf data dbt_c360/target dbt_c360/logs
