#!/usr/bin/env bash
# The README's first command: installs, builds, creates the demo project (build/demo, from
# examples/demo), walks through the CLI flow and runs `m worker` beside `m serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh Release
scripts/desk.sh
m="$PWD/build/release/cli/m"

# The project's files come from examples/demo every time (so a checkout's newer app code is
# used); its data (.m/) and secret (.env) are kept.
mkdir -p build/demo
cp -r examples/demo/. build/demo/
cd build/demo
[ -f .env ] || (umask 077 && printf 'M_SECRET_KEY=%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '/+=')" > .env)
chmod 600 .env # the signing key: the owner's only (docs/ARCHITECTURE.md, threat model)

echo "== m info"; "$m" info
echo "== m build (compiles apps/billing's C++, builds the Desk with its plugin)"; "$m" build
echo "== m migrate"; "$m" migrate
if [ "$("$m" --json doc list Customer --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" = "0" ]; then
  echo "== m doc insert (sample data)"
  "$m" doc insert Customer < sample/customers.jsonl
fi
echo "== m doc list Customer"; "$m" doc list Customer --order-by customer_name
echo "== m doc list Customer --filters (credit_limit > 1000)"
"$m" doc list Customer --filters '[{"field":"credit_limit","operator":"gt","value":1000}]' --fields customer_name,credit_limit
echo "== m doc insert Invoice (the controller computes amounts and the total)"
inv=$("$m" doc insert Invoice < sample/invoice.json)
"$m" doc get Invoice "$inv"
echo "== m doc submit Invoice $inv"; "$m" doc submit Invoice "$inv"
echo "== m doc update Invoice $inv --data '{\"total\":1}' (refused: submitted documents are frozen)"
"$m" doc update Invoice "$inv" --data '{"total":1}' || true
echo "== m doc call Invoice $inv outstanding"; "$m" doc call Invoice "$inv" outstanding

# A demo administrator, made once (the password is for this local demo only).
if ! "$m" doc get User admin@demo.test > /dev/null 2>&1; then
  echo "== m user create admin@demo.test --role Admin"
  printf 'demo-admin-pass' | "$m" user create admin@demo.test --role Admin --role "Sales User" \
    --role "Sales Manager" --full-name "Demo Admin" --password-stdin
fi
echo "== m job recent (Invoice.after_save enqueued billing.send_invoice; the worker below runs it)"
"$m" job recent --limit 3
port="${PORT:-8000}"
echo
echo "The demo project is in build/demo. m worker (jobs, cron) and m serve start now on http://127.0.0.1:$port"
echo "  log in:  curl -s localhost:$port/api/v1/auth/login -d '{\"email\":\"admin@demo.test\",\"password\":\"demo-admin-pass\"}'"
echo "  API:     curl -H \"Authorization: Bearer \$TOKEN\" localhost:$port/api/v1/Customer"
echo "  OpenAPI: curl localhost:$port/schema;  Desk: http://127.0.0.1:$port/desk/  (Ctrl-C stops)"
echo "  jobs:    m --project build/demo job status <id>   (m job recent lists them)"
# The worker runs beside the server and stops with it (SIGTERM: running jobs finish first).
"$m" worker --scheduler &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker" 2>/dev/null || true' EXIT
"$m" serve --port "$port"
