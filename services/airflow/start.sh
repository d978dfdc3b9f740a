#!/bin/sh
# Metadata database, the admin from .env (AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD),
# then scheduler and web server in one container, as `make airflow` runs them.
set -e
airflow db migrate >/dev/null
airflow users create --role Admin --username "$AIRFLOW_ADMIN_USER" --password "$AIRFLOW_ADMIN_PASSWORD" \
  --firstname fraudlake --lastname admin --email admin@localhost >/dev/null 2>&1 \
  || airflow users reset-password --username "$AIRFLOW_ADMIN_USER" --password "$AIRFLOW_ADMIN_PASSWORD" >/dev/null
airflow scheduler &
exec airflow webserver --hostname 0.0.0.0 --port 8080
