#!/bin/sh
# Creates (or upgrades) Temporal's two PostgreSQL databases before the server starts:
# `temporal` (histories) and `temporal_visibility` (the list the Web UI searches).
# Run by the `temporal-schema` job of docker-compose.yml in the temporalio/admin-tools
# image, which carries temporal-sql-tool and the schema files. The same steps as the
# compose files Temporal publishes (temporalio/samples-server, compose/scripts/setup-postgres.sh).
#
# Safe to run on every `docker compose up`: `create` ignores a database that exists,
# `setup-schema -v 0.0` leaves a newer schema alone, and `update-schema` applies only the
# versions not applied yet (so a newer server image upgrades the schema here).
set -eu

: "${POSTGRES_SEEDS:?set POSTGRES_SEEDS to the PostgreSQL host}"
: "${POSTGRES_USER:?set POSTGRES_USER}"
: "${SQL_PASSWORD:?set SQL_PASSWORD (temporal-sql-tool reads the password from it)}"
PORT="${DB_PORT:-5432}"
SCHEMA_DIR="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"

sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$PORT" "$@"; }

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) versioned="$SCHEMA_DIR/temporal/versioned" ;;
    *) versioned="$SCHEMA_DIR/visibility/versioned" ;;
  esac
  echo "[autok8s schema] $db: create, set up, update"
  sql --db "$db" create
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$versioned"
done
echo "[autok8s schema] PostgreSQL schemas are up to date"
