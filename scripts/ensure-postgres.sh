#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 and prints the DATABASE_URL tests should use.
# Order: an already running server; else start an installed one; else install it with apt and start it.
# Only the last line of stdout is the URL; progress goes to stderr.
set -euo pipefail
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
log() { echo "ensure-postgres: $*" >&2; }
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_isready >/dev/null 2>&1 || ! ready; then
  if ! command -v psql >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    log "PostgreSQL not installed: installing with apt"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  if ! ready; then
    log "starting PostgreSQL"
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
      read -r ver name _ < <(pg_lsclusters -h | head -n 1)
      as_root pg_ctlcluster "$ver" "$name" start >&2 || true
    else
      # No cluster tooling: run a private cluster with trust auth under /tmp.
      bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
      data=/tmp/poolvc-pgdata
      owner=postgres; id postgres >/dev/null 2>&1 || owner=$(id -un)
      if [ ! -s "$data/PG_VERSION" ]; then
        as_root mkdir -p "$data"; as_root chown "$owner" "$data"
        as_root su "$owner" -s /bin/sh -c "$bin/initdb -D $data -U postgres --auth=trust >/dev/null"
      fi
      as_root su "$owner" -s /bin/sh -c "$bin/pg_ctl -D $data -l $data/server.log -o '-h 127.0.0.1 -p 5432' -w start >/dev/null"
    fi
  fi
  for _ in $(seq 1 30); do ready && break; sleep 1; done
  ready || { log "PostgreSQL did not become ready on 127.0.0.1:5432"; exit 1; }
fi

# Trust auth is expected on these machines; make sure the test database exists.
db="${url##*/}"; db="${db%%\?*}"
if ! psql "$url" -Atc 'select 1' >/dev/null 2>&1; then
  base="${url%/*}/postgres"
  psql "$base" -Atc "create database \"$db\"" >/dev/null 2>&1 || true
  # Fresh apt installs use peer auth for local sockets and md5 over TCP: allow trust on loopback.
  if ! psql "$url" -Atc 'select 1' >/dev/null 2>&1; then
    hba=$(as_root su postgres -s /bin/sh -c "psql -Atc 'show hba_file'" 2>/dev/null || true)
    if [ -n "$hba" ]; then
      log "enabling trust auth for 127.0.0.1 in $hba"
      as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
      as_root su postgres -s /bin/sh -c "psql -Atc 'select pg_reload_conf()'" >/dev/null
      psql "$base" -Atc "create database \"$db\"" >/dev/null 2>&1 || true
    fi
  fi
  psql "$url" -Atc 'select 1' >/dev/null || { log "cannot connect to $url"; exit 1; }
fi
echo "$url"
