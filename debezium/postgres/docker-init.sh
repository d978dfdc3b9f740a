#!/usr/bin/env bash
# docker-entrypoint-initdb.d hook of the postgres image: applies the same SQL that
# `make up` applies, with the same psql variables, taken from the container's env.
set -euo pipefail
vars=(-v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" -v app_db="$APP_DB"
      -v debezium_user="$DEBEZIUM_DB_USER" -v debezium_password="$DEBEZIUM_DB_PASSWORD"
      -v publication="$POSTGRES_PUBLICATION")
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres "${vars[@]}" -f /fraudlake-sql/00-cluster.sql
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$APP_DB" "${vars[@]}" -f /fraudlake-sql/10-fraudlake.sql
