#!/usr/bin/env bash
# Installs everything fraudlake needs on a fresh Debian machine, idempotently:
# system packages (as root), the Python virtualenv, the Maven jars and the MinIO
# build (both cached in FRAUDLAKE_CACHE_DIR, default ~/.cache/fraudlake).
# `make up` and `make test` run it first; a second run takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "${POSTGRES_BIN_DIR:-}" ] || missing+=(postgresql-15)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v go >/dev/null || missing+=(golang-go)
getent passwd postgres >/dev/null || [ "$(id -u)" -ne 0 ] || missing+=(postgresql-15)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
# Only the tests need it (static validation of docker-compose.yml): installed as root,
# otherwise a warning.
if ! command -v docker-compose >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then missing+=(docker-compose); else
    echo "bootstrap: docker-compose not installed; the compose-file test will fail (apt-get install docker-compose)" >&2
  fi
fi
# Only the dashboard's browser tests need it (Playwright drives Debian's chromium by
# path; Playwright's own browser download is not reachable): as root, installed.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then missing+=(chromium); else
    echo "bootstrap: chromium not installed; the dashboard's browser tests will fail (apt-get install chromium)" >&2
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing ${missing[*]}." >&2
    echo "  Install them (Debian: sudo apt-get install ${missing[*]}), or run this script as root." >&2
    exit 1
  fi
fi

# Debian's Go may be older than MinIO needs; Go ≥ 1.21 fetches the right toolchain
# from the Go module proxy by itself (GOTOOLCHAIN=auto).
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.fraudlake-installed"
digest=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  echo "bootstrap: installing Python packages into $VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e ".[dev]"
  echo "$digest" > "$stamp"
fi

"$VENV/bin/fraudlake" fetch
