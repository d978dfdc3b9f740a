#!/usr/bin/env bash
# Restart the streaming jobs and wait until they run again.
#   scripts/restart-streaming-services.sh [--clear-checkpoints] [--job lakehouse|bronze|prediction|all] [--compose]
# A thin call of `fraudlake streaming restart`; see `--help` there.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${VENV:-.venv}/bin/fraudlake" streaming restart "$@"
