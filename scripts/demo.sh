#!/usr/bin/env bash
# make demo: replay the bundled attack log (real PostgreSQL 15 + pgaudit
# output captured by the integration harness) and show the alerts.
set -euo pipefail
bin=${1:-bin/vigil}
cd "$(dirname "$0")/.."
log=testdata/demo/attack.log
learn=$(cat testdata/demo/learn_until)

echo "== Replaying $log: $(wc -l < "$log") lines that PostgreSQL 15 + pgaudit wrote during an attack"
echo "   $bin replay --format table --learn-until $learn --data-dir vigil-data $log"
echo
"$bin" replay --format table --no-progress --learn-until "$learn" --data-dir vigil-data "$log"
cat <<MSG

What to try next (the events and alerts are also in ./vigil-data, the embedded store):
  $bin alerts list --severity high
  $bin alerts show ALERT_ID                      # evidence, MITRE, impact, mitigation
  $bin events search --around ALERT_ID --window 10m
  # one alert as JSON, with its evidence (passwords masked)
  $bin replay --format ndjson --learn-until $learn $log | head -1
  # the built-in detections, and what one of them does and how to tune it
  $bin rules list
  $bin rules show auth.failed_login_burst
  # your own logs: PostgreSQL stderr (any log_line_prefix), csvlog, jsonlog; MariaDB
  # server_audit, MySQL audit JSON; Azure resource logs (formats are detected)
  $bin replay /var/log/postgresql/*.log
  $bin replay testdata/azure/*
  # posture: a weak Cosmos DB account as 'az cosmosdb show' prints it
  $bin scan --azure-resource posture/testdata/azure/cosmos-weak.json
MSG
