#!/usr/bin/env bash
# Start the web server and a Celery worker with an embedded beat; Ctrl-C, SIGTERM and SIGHUP stop all
# of them, and so does the end of whoever started this script (make passes SIGTERM on, not SIGHUP).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG="${DEBUG:-1}"
# The demo app (demo/) serves the simulator started below: in, even where a DEMO=0 meant for production is exported.
export DEMO=1
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
export SITE_URL="${SITE_URL:-http://$HOST:$PORT}"
# The tax-system simulator the demo companies fetch from (load_demo points them at this URL).
export SIMULATOR_PORT="${SIMULATOR_PORT:-8001}"
export TAX_SIMULATOR_URL="${TAX_SIMULATOR_URL:-http://127.0.0.1:$SIMULATOR_PORT}"
# The portal refuses private and loopback addresses; it may reach exactly the simulator and the demo's
# webhook receiver (scripts/notify_receiver.py), never loopback as a whole.
export OUTBOUND_ALLOW="${OUTBOUND_ALLOW:-127.0.0.1:$SIMULATOR_PORT,127.0.0.1:8765}"

pids=()
parent=$PPID
stop() {
  trap - INT TERM HUP EXIT
  echo
  echo "Stopping…"
  # TERM to each leader lets Celery shut its pool down warmly; whatever is left is killed by group.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 20); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap stop INT TERM HUP EXIT

# Each child gets its own process group (setsid) so stopping it takes its own children too.
# The simulator first: reconciliation runs queued by load_demo fetch from it as soon as the worker starts.
setsid "$PY" manage.py run_tax_simulator --host 127.0.0.1 --port "$SIMULATOR_PORT" --quiet &
pids+=($!)
for _ in $(seq 50); do
  "$PY" -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1)" \
    "$SIMULATOR_PORT" 2>/dev/null && break
  sleep 0.2
done
setsid "$PY" manage.py runserver --noreload "$HOST:$PORT" &
pids+=($!)
# Started without -Q, the worker consumes every queue (settings.CELERY_TASK_QUEUES): the default one,
# notifications, imports, reconciliation and fetches.
setsid .venv/bin/celery -A outage_portal worker -B --loglevel=INFO --concurrency=2 \
  --schedule var/celerybeat-schedule &
pids+=($!)

sleep 2 & wait $!
cat <<MSG

  Tax outage portal is running:  http://$HOST:$PORT/
  Public status page:            http://$HOST:$PORT/status/
  API docs:                      http://$HOST:$PORT/api/docs/
  Tax-system simulator:          $TAX_SIMULATOR_URL/health
    recover the Beijing invoices: python manage.py tax_simulator_fault recover
  Demo logins (password demo-2026-portal): bj_finance, bj_accountant, bj_reviewer, bj_admin,
    xa_finance, xa_accountant, xa_reviewer, xa_admin, notice_admin
  Press Ctrl-C to stop everything.

MSG
# Until one of them exits, or the parent that started this script is gone (its SIGHUP is not passed
# on): the EXIT trap then stops the rest. A short sleep in the background keeps traps prompt.
while :; do
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || exit 1; done
  [ "$(awk '{print $4}' /proc/$$/stat 2>/dev/null || echo "$parent")" = "$parent" ] || exit 0
  sleep 1 & wait $!
done
