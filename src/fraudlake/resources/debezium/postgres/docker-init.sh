#!/usr/bin/env bash
# docker-entrypoint-initdb.d hook of the postgres image: applies the same SQL that
# `make up` applies, with the same psql variables, taken from the container's env.
# The SQL is where docker-compose.yml mounts it, or FRAUDLAKE_SQL_DIR (tests/test_packaging.py
# runs this hook from an installed wheel).
set -euo pipefail
sql=${FRAUDLAKE_SQL_DIR:-/fraudlake-sql}
vars=(-v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" -v app_db="$APP_DB"
      -v debezium_user="$DEBEZIUM_DB_USER" -v debezium_password="$DEBEZIUM_DB_PASSWORD"
      -v publication="$POSTGRES_PUBLICATION")
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres "${vars[@]}" -f "$sql/00-cluster.sql"
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$APP_DB" "${vars[@]}" -f "$sql/10-fraudlake.sql"
