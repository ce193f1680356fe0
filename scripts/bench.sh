#!/usr/bin/env bash
# make bench: replay throughput of the full pipeline (every built-in rule) on
# a generated >= 1 GB pgaudit stderr log and its csvlog twin, on one core and
# on all cores, side by side with pgbadger -j 1 on the same file, in the same
# run. Data goes to $BENCH_DIR (default /tmp/vigil-bench) and is not kept in git.
#
#   BENCH_SIZE=1GiB  size of each generated log
#   BENCH_PGBADGER=0 skip pgbadger (it takes ~100 s per GB)
#   BENCH_OTHER_MB=200 size of the server_audit and Azure inputs
#   BENCH_LIVE=0     skip the live-mode benchmark
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-/tmp/vigil-bench}
size=${BENCH_SIZE:-1GiB}
mkdir -p "$dir"
bin=bin/vigil
prefix='%m [%p] %q%u@%d %h %a '

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)"
for fmt in stderr csvlog; do
  ext=log; [ $fmt = csvlog ] && ext=csv
  f=$dir/bench-$size.$ext
  if [ ! -s "$f" ]; then
    echo "== generating $f ($size, $fmt)"
    go run ./internal/tools/loggen -size "$size" -format $fmt -o "$f"
  fi
done


run_vigil() { # label procs file
  local label=$1 procs=$2 file=$3
  local t0 t1 rss events
  sync; cat "$file" > /dev/null
  t0=$(date +%s.%N)
  GOMAXPROCS=$procs /usr/bin/time -f 'RSS_KB %M CPU %U+%S' "$bin" replay --format ndjson --no-progress "$file" > "$dir/alerts-$label.ndjson" 2> "$dir/summary-$label.txt"
  t1=$(date +%s.%N)
  local wall bytes ev rss cpu
  wall=$(echo "$t1 - $t0" | bc)
  bytes=$(stat -c %s "$file")
  ev=$(grep -o '[0-9,]* events in' "$dir/summary-$label.txt" | head -1 | tr -d ', ' | sed 's/eventsin//')
  rss=$(grep RSS_KB "$dir/summary-$label.txt" | awk '{print $2}')
  cpu=$(grep RSS_KB "$dir/summary-$label.txt" | awk '{print $4}' | bc)
  printf '%-34s %8.1f s %10.0f ev/s %8.1f MiB/s  peak RSS %5d MiB  CPU %6.1f s  alerts %s\n' \
    "$label" "$wall" "$(echo "$ev / $wall" | bc -l)" "$(echo "$bytes / 1048576 / $wall" | bc -l)" "$((rss / 1024))" "$cpu" "$(wc -l < "$dir/alerts-$label.ndjson")"
}

log=$dir/bench-$size.log
csv=$dir/bench-$size.csv
echo "== $log: $(stat -c %s "$log") bytes, $(wc -l < "$log") lines"
echo "== $csv: $(stat -c %s "$csv") bytes"
echo
echo "== vigil replay, full built-in rule pack"
run_vigil "vigil stderr 1 core (GOMAXPROCS=1)" 1 "$log"
run_vigil "vigil stderr all cores" "$(nproc)" "$log"
run_vigil "vigil csvlog 1 core (GOMAXPROCS=1)" 1 "$csv"
run_vigil "vigil csvlog all cores" "$(nproc)" "$csv"

# MySQL-family and Azure inputs: the captured MariaDB server_audit log and
# the Azure fixtures, repeated to about BENCH_OTHER_MB MiB each.
other_mb=${BENCH_OTHER_MB:-200}
repeat_to() { # out MiB files...
  local out=$1 mb=$2; shift 2
  [ -s "$out" ] && return
  local one; one=$(cat "$@" | wc -c)
  local n=$(( mb * 1048576 / one + 1 ))
  for _ in $(seq "$n"); do cat "$@"; done > "$out"
}
audit=$dir/server_audit-${other_mb}MiB.log
azure=$dir/azure-${other_mb}MiB.json
if [ -s ../shared/samples/mariadb/server_audit.full.log ]; then
  repeat_to "$audit" "$other_mb" ../shared/samples/mariadb/server_audit.full.log
fi
repeat_to "$azure" "$other_mb" testdata/azure/*
echo
echo "== vigil replay of other formats, one core"
[ -s "$audit" ] && run_vigil "vigil server_audit 1 core" 1 "$audit"
run_vigil "vigil azure records 1 core" 1 "$azure"

if [ "${BENCH_PGBADGER:-1}" = 1 ]; then
  if ! command -v pgbadger >/dev/null; then
    echo "pgbadger is not installed (apt-get install pgbadger); skipping the anchor" >&2
  else
    echo
    echo "== anchor: pgbadger -j 1 on the same stderr file"
    t0=$(date +%s.%N)
    /usr/bin/time -f 'RSS_KB %M CPU %U+%S' pgbadger -q -j 1 -f stderr -p "$prefix" -o "$dir/pgbadger.html" "$log" 2> "$dir/pgbadger.txt"
    t1=$(date +%s.%N)
    wall=$(echo "$t1 - $t0" | bc)
    bytes=$(stat -c %s "$log")
    lines=$(wc -l < "$log")
    printf '%-34s %8.1f s %10.0f lines/s %8.1f MiB/s  peak RSS %5d MiB\n' "pgbadger -j 1 stderr" "$wall" \
      "$(echo "$lines / $wall" | bc -l)" "$(echo "$bytes / 1048576 / $wall" | bc -l)" "$(( $(grep RSS_KB "$dir/pgbadger.txt" | awk '{print $2}') / 1024 ))"
  fi
fi
echo
echo "== go test -bench (parsers, classifier, engine; one core)"
go test -run '^$' -bench . -benchmem -cpu 1 -benchtime 1s ./parse/... ./stmt/... ./detect/... ./store/... 2>&1 | grep -E '^(Benchmark|ok|FAIL)'

if [ "${BENCH_LIVE:-1}" = 1 ]; then
  echo
  echo "== live mode: vigil run with the store on (append → alert stored latency, CPU, RSS)"
  go run ./internal/tools/livebench -vigil "$bin" -duration "${BENCH_LIVE_DURATION:-15s}"
fi
