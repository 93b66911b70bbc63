#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with Python 3.11, run as root:
# system packages, the .venv with the exact pins of requirements.lock, the --no-deps packages, and the
# project itself. Each step is skipped when already done, so calling it before every command is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg fluidsynth fluid-soundfont-gm timgm6mb-soundfont espeak-ng sox postgresql chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=$(command -v python3.11 || command -v python3)
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $PY"
  if ! "$PY" -m venv .venv; then
    apt-get install -y -qq python3-venv >/dev/null && "$PY" -m venv .venv
  fi
fi

stamp=.venv/.emsync-lock-stamp
want=$(cat requirements.lock requirements-nodeps.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing Python packages from requirements.lock"
  .venv/bin/python -m pip install -q --upgrade "pip>=24"
  .venv/bin/python -m pip install -q -r requirements.lock
  # Packages whose metadata pins things we must not get (torch 1.6, tensorflow, GUI OpenCV).
  .venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
echo "[setup] ready: $(.venv/bin/emsync --version)"
