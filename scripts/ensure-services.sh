#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1: start them if installed but down,
# install them with the system package manager if missing. Idempotent.
set -euo pipefail

PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
PG_PASSWORD=${PG_PASSWORD:-postgres}

say() { printf 'services: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

apt_install() {
  if ! command -v apt-get >/dev/null; then
    say "cannot install $*: no apt-get here; install them yourself and re-run"; exit 1
  fi
  say "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

wait_for() {  # wait_for <name> <check-fn>
  for _ in $(seq 1 60); do "$2" && return 0; sleep 0.5; done
  say "$1 did not come up"; exit 1
}

# --- PostgreSQL ---------------------------------------------------------------
if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  pg_up 2>/dev/null || apt_install postgresql postgresql-client
fi
if ! pg_up; then
  say "starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  wait_for PostgreSQL pg_up
fi
# A fresh install only trusts local socket peers: give the postgres role a password
# so the tests can log in over TCP. Where trust auth is on, this changes nothing.
if ! PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  say "setting the postgres role's password for TCP logins"
  as_root su postgres -c "psql -p $PG_PORT -tAc \"ALTER ROLE postgres PASSWORD '$PG_PASSWORD'\"" >/dev/null
fi
say "PostgreSQL answers on 127.0.0.1:$PG_PORT"

# --- Redis ----------------------------------------------------------------------
if ! command -v redis-server >/dev/null; then
  redis_up 2>/dev/null || apt_install redis-server
fi
if ! redis_up; then
  say "starting Redis"
  mkdir -p /tmp/spindle-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /tmp/spindle-redis --logfile /tmp/spindle-redis/redis.log
  wait_for Redis redis_up
fi
say "Redis answers on 127.0.0.1:$REDIS_PORT"
