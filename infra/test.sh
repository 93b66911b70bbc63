#!/usr/bin/env bash
# Set up (idempotent), make sure a PostgreSQL server answers on 127.0.0.1:5432, then run the suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "[test] starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
# This machine trusts local TCP logins; a stock Debian cluster wants a password: give postgres one.
if ! psql -h 127.0.0.1 -U postgres -w -tAc 'select 1' >/dev/null 2>&1; then
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
  export PGPASSWORD=postgres
fi
psql -h 127.0.0.1 -U postgres -w -tAc "select 1 from pg_database where datname='emsync_test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -w -q -c "create database emsync_test"
export EMSYNC_TEST_PG_URL="postgresql+psycopg://postgres:${PGPASSWORD:-}@127.0.0.1:5432/emsync_test"

exec .venv/bin/python -m pytest "$@"
