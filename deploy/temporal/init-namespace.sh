#!/bin/sh
# Makes a Temporal namespace ready for autok8s: the namespace exists, and the search
# attributes autok8s starts its workflows with are registered on it (a start with an
# unregistered search attribute is refused by the server).
#
# Safe to run again: it looks before it acts. docker-compose.yml runs it once as the
# `temporal-init` job; on a production cluster run it the same way from any machine with
# the Temporal CLI:
#
#   TEMPORAL_ADDRESS=temporal.example.net:7233 TEMPORAL_NAMESPACE=autok8s sh deploy/temporal/init-namespace.sh
#
# Environment (all optional):
#   TEMPORAL_ADDRESS            frontend address (default temporal:7233)
#   TEMPORAL_NAMESPACE          namespace (default default)
#   NAMESPACE_RETENTION         retention of closed runs when the namespace is created (default 30d)
#   AUTOK8S_SEARCH_ATTRIBUTES   space-separated Name=Type pairs (default: the three autok8s uses)
#   TEMPORAL_WAIT_ATTEMPTS      tries while the server or a new namespace is not ready (default 60)
#   TEMPORAL_WAIT_SECONDS       pause between tries (default 2)
#   TEMPORAL_CLI                the CLI to run (default temporal)
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${NAMESPACE_RETENTION:-30d}"
ATTRIBUTES="${AUTOK8S_SEARCH_ATTRIBUTES:-AutoK8sCluster=Keyword AutoK8sOperation=Keyword AutoK8sServer=Keyword}"
ATTEMPTS="${TEMPORAL_WAIT_ATTEMPTS:-60}"
PAUSE="${TEMPORAL_WAIT_SECONDS:-2}"
CLI="${TEMPORAL_CLI:-temporal}"

say() { echo "[autok8s init] $*"; }
t() { "$CLI" "$@" --address "$ADDRESS"; }

# Runs "$@" until it succeeds, at most $ATTEMPTS times; the last error is shown.
retry() {
  what="$1"
  shift
  n=1
  while ! out=$("$@" 2>&1); do
    if [ "$n" -ge "$ATTEMPTS" ]; then
      say "giving up: $what after $ATTEMPTS tries: $out"
      return 1
    fi
    n=$((n + 1))
    sleep "$PAUSE"
  done
  return 0
}

# Bad input is refused before anything is touched.
for pair in $ATTRIBUTES; do
  case "$pair" in
    [A-Za-z]*=[A-Za-z]*) ;;
    *)
      say "bad entry \"$pair\" in AUTOK8S_SEARCH_ATTRIBUTES: write Name=Type, e.g. AutoK8sCluster=Keyword"
      exit 2
      ;;
  esac
done

say "waiting for the Temporal server at $ADDRESS"
retry "the server at $ADDRESS did not report SERVING" t operator cluster health
say "server is serving"

if t operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  say "namespace $NAMESPACE exists"
else
  say "creating namespace $NAMESPACE (retention $RETENTION)"
  t operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION"
fi

for pair in $ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  # A namespace created a moment ago may not be known to every service yet: list with retries.
  retry "could not list the search attributes of $NAMESPACE" t operator search-attribute list --namespace "$NAMESPACE"
  have=$(echo "$out" | awk -v n="$name" '$1 == n { print $2 }')
  if [ "$have" = "$type" ]; then
    say "search attribute $name ($type) is already registered on $NAMESPACE"
  elif [ -n "$have" ]; then
    say "search attribute $name is registered on $NAMESPACE as $have, not $type; autok8s needs $type. Search attributes cannot change type: use another namespace."
    exit 1
  else
    say "registering search attribute $name ($type) on $NAMESPACE"
    retry "could not register $name on $NAMESPACE" t operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type"
  fi
done
say "namespace $NAMESPACE is ready for autok8s"
