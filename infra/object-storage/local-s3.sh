#!/usr/bin/env bash
# An S3 protocol server on loopback for local trials: moto_server from the dev extras. Any key/secret works.
set -euo pipefail
port="${1:-5555}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test"
exec "$here/.venv/bin/moto_server" -H 127.0.0.1 -p "$port"
