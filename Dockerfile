# Customer 360 demo image: the Streamlit app plus everything to generate, load and build
# the warehouse on Postgres. Used by docker-compose.yml (service `app`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_isready (postgresql-client) lets the entrypoint wait for Postgres.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY c360/ c360/
COPY data_gen/ data_gen/
COPY dbt_c360/ dbt_c360/
COPY semantic_models/ semantic_models/
COPY views/ views/
COPY app.py ./
COPY docker/entrypoint.sh /usr/local/bin/c360-entrypoint

RUN chmod 0755 /usr/local/bin/c360-entrypoint \
    && useradd --create-home --uid 1000 c360 \
    && mkdir -p /app/data \
    && chown -R c360:c360 /app

USER c360

ENV DBT_TARGET=postgres \
    C360_DEMO_CUSTOMERS=2000 \
    C360_DEMO_SEED=42 \
    C360_APP_DIR=/app

EXPOSE 8501

ENTRYPOINT ["c360-entrypoint"]
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
