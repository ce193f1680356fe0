#!/usr/bin/env bash
# make demo: replay the bundled attack log (real PostgreSQL 15 + pgaudit
# output captured by the integration harness) and show the alerts.
set -euo pipefail
bin=${1:-bin/vigil}
cd "$(dirname "$0")/.."
log=testdata/demo/attack.log
learn=""
[ -f testdata/demo/learn_until ] && learn="--learn-until=$(cat testdata/demo/learn_until)"

echo "== Replaying $log ($(wc -l < "$log") lines of PostgreSQL 15 + pgaudit stderr log)"
echo "   $bin replay --format table $learn $log"
echo
"$bin" replay --format table --no-progress $learn "$log"
cat <<MSG

What to try next:
  $bin replay --format ndjson $learn $log | head -1     # one alert as JSON, evidence included (passwords masked)
  $bin rules list                                       # the built-in detections
  $bin rules show auth.failed_login_burst               # what a rule does and how to tune it
  $bin replay /var/log/postgresql/*.log                 # your own logs (stderr, csvlog, jsonlog)
  make test                                             # every test, against a real PostgreSQL 15 + pgaudit
MSG
