#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make postgres`: a throwaway PostgreSQL cluster for the console's tests, owned by the `postgres`
# account under .output/postgres, on its own socket directory and a loopback port (not 5432, so a
# system cluster is left alone). Idempotent: a running cluster is kept. Writes the URL the tests
# use (VIGIL_TEST_POSTGRES_URL overrides it) to .output/postgres-url and prints it.
# `test-server.sh stop` stops the cluster.
set -euo pipefail

OUT=$(realpath -m "${OUT:-.output}")
PORT=${VIGIL_TEST_POSTGRES_PORT:-55432}
ROOT_DIR=$OUT/postgres
DATA=$ROOT_DIR/data
SOCKETS=$ROOT_DIR/run
ROLE=vigil_test

fail() {
    echo "error: $*" >&2
    exit 1
}

# Debian's server binaries, the newest major installed.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

as_postgres() { runuser -u postgres -- "$@"; }

if [ "${1:-}" = stop ]; then
    bin=$(pg_bin)
    if [ -n "$bin" ] && [ -f "$DATA/postmaster.pid" ]; then as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    # Without root only an already running cluster can be used.
    [ -f "$OUT/postgres-url" ] && [ -f "$DATA/postmaster.pid" ] && { cat "$OUT/postgres-url"; exit 0; }
    fail "the test PostgreSQL cluster is not running and this is not root: run 'sudo make postgres'"
fi

if [ -z "$(pg_bin)" ]; then
    echo "installing: postgresql"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(pg_bin)
[ -x "$BIN/initdb" ] || fail "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin after installing postgresql"

mkdir -p "$ROOT_DIR"
chown postgres:postgres "$ROOT_DIR"
chmod 0700 "$ROOT_DIR"
as_postgres test -x "$ROOT_DIR" || fail "the postgres account cannot reach $ROOT_DIR (a parent directory is closed to it)"

if [ ! -f "$DATA/PG_VERSION" ]; then
    # The superuser only over the socket, as the postgres account; the test role by password on loopback.
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 >/dev/null
    as_postgres mkdir -p "$SOCKETS"
    head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$ROOT_DIR/password"
    chmod 0600 "$ROOT_DIR/password"
fi

if ! as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    # fsync off: a throwaway cluster whose tests create and drop many databases.
    as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$ROOT_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCKETS -c fsync=off -c synchronous_commit=off -c max_connections=400" \
        start >/dev/null || fail "the test cluster did not start: see $ROOT_DIR/server.log"
fi

PASSWORD=$(cat "$ROOT_DIR/password")
psql_super() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$SOCKETS" -p "$PORT" -U postgres -d postgres "$@"; }
if [ "$(psql_super -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    psql_super -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
fi
if [ "$(psql_super -tAc "SELECT 1 FROM pg_database WHERE datname = '$ROLE'")" != 1 ]; then
    psql_super -c "CREATE DATABASE $ROLE OWNER $ROLE"
fi

URL="postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$ROLE?sslmode=disable"
umask 077
printf '%s\n' "$URL" > "$OUT/postgres-url"
echo "$URL"
