#!/usr/bin/env bash
# Set up (idempotent), then run the main job with the embedded defaults (SQLite, local Beam and Ray)
# on the bundled real sample, samples/big_buck_bunny_0_30.webm. Rerunning resumes and redoes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
exec .venv/bin/emsync score samples --out "${1:-out/sample}"
