#!/usr/bin/env bash
# Airflow for fraudlake's scheduled pipelines (airflow/dags/), in a virtualenv of its
# own: Airflow's pins conflict with the project's. Its home, SQLite metadata and logs
# live under FRAUDLAKE_RUN_DIR/airflow; the admin login comes from .env
# (AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD, generated like the other secrets).
#
#   scripts/airflow.sh install        the virtualenv, from airflow/requirements.txt (pinned)
#   scripts/airflow.sh start          scheduler + web server on 127.0.0.1:AIRFLOW_PORT (`make airflow`)
#   scripts/airflow.sh stop
#   scripts/airflow.sh run ARGS…      any `airflow` command in that environment, e.g. `run dags test fraudlake_retrain`
#   scripts/airflow.sh python ARGS…   the virtualenv's python in that environment (the DAG integrity tests)
#
# airflow/requirements.txt is `pip freeze` of `pip install apache-airflow==2.10.5` on
# Python 3.11 (Airflow's constraints files are not reachable from here); regenerate it
# the same way to upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
AIRFLOW_VENV=${AIRFLOW_VENV:-.venv-airflow}
PYTHON=${PYTHON:-python3}

install() {
  if [ ! -x "$AIRFLOW_VENV/bin/python" ]; then
    echo "airflow: creating $AIRFLOW_VENV" >&2
    "$PYTHON" -m venv "$AIRFLOW_VENV"
  fi
  local stamp="$AIRFLOW_VENV/.fraudlake-installed" digest
  digest=$(sha256sum airflow/requirements.txt | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "airflow: installing airflow/requirements.txt into $AIRFLOW_VENV" >&2
    "$AIRFLOW_VENV/bin/pip" install -q --upgrade pip
    "$AIRFLOW_VENV/bin/pip" install -q -r airflow/requirements.txt
    echo "$digest" > "$stamp"
  fi
}

init() {
  install
  eval "$("$VENV/bin/fraudlake" airflow-env)"
  export PATH="$PWD/$AIRFLOW_VENV/bin:$PATH"
  mkdir -p "$AIRFLOW_HOME"
  local stamp="$AIRFLOW_HOME/.migrated" digest
  digest=$(sha256sum airflow/requirements.txt | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "airflow: creating its metadata database in $AIRFLOW_HOME" >&2
    airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/db-migrate.log" >&2; exit 1; }
    echo "$digest" > "$stamp"
  fi
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  init
  mkdir -p "$AIRFLOW_HOME/logs"
  # Create the admin, or set its password to the one in .env.
  airflow users create --role Admin --username "$AIRFLOW_ADMIN_USER" --password "$AIRFLOW_ADMIN_PASSWORD" \
    --firstname fraudlake --lastname admin --email admin@localhost >/dev/null 2>&1 \
    || airflow users reset-password --username "$AIRFLOW_ADMIN_USER" --password "$AIRFLOW_ADMIN_PASSWORD" >/dev/null
  for part in scheduler webserver; do
    if ! alive "$AIRFLOW_HOME/$part.pid"; then
      setsid nohup airflow "$part" >"$AIRFLOW_HOME/logs/$part.out" 2>&1 < /dev/null &
      echo $! > "$AIRFLOW_HOME/$part.pid"
    fi
  done
  local url="http://127.0.0.1:$AIRFLOW__WEBSERVER__WEB_SERVER_PORT"
  for _ in $(seq 120); do
    if curl -fsS "$url/health" >/dev/null 2>&1; then
      echo "airflow: up at $url (user $AIRFLOW_ADMIN_USER, password AIRFLOW_ADMIN_PASSWORD in $FRAUDLAKE_ENV_FILE)"
      return 0
    fi
    alive "$AIRFLOW_HOME/webserver.pid" || break
    sleep 1
  done
  echo "airflow: the web server did not come up; see $AIRFLOW_HOME/logs/webserver.out" >&2
  exit 1
}

stop() {
  eval "$("$VENV/bin/fraudlake" airflow-env)"
  for part in webserver scheduler; do
    local pidfile="$AIRFLOW_HOME/$part.pid"
    if alive "$pidfile"; then
      kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || kill -TERM "$(cat "$pidfile")"
      for _ in $(seq 30); do alive "$pidfile" || break; sleep 1; done
      alive "$pidfile" && kill -KILL -- "-$(cat "$pidfile")" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  run) shift; init; exec airflow "$@" ;;
  python) shift; init; exec "$AIRFLOW_VENV/bin/python" "$@" ;;
  *) echo "usage: $0 install|start|stop|run ARGS…|python ARGS…" >&2; exit 2 ;;
esac
