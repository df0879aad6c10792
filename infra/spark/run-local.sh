#!/usr/bin/env bash
# Run the demo on Spark in local mode: checks that pyspark, Java and Sovereign work together on this machine.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$here/.venv/bin/python}"
exec "$here/.venv/bin/sovereign" demo --out "${1:-demo-out-spark}" --executor spark
