#!/bin/sh
# Live benchmark of `vigil run` (issue 3): events/s, detection latency,
# daemon CPU and RSS at each rate. Flags go to livebench, e.g.
#   scripts/bench-live.sh -duration 15s -rates 1000,10000,max
set -eu
cd "$(dirname "$0")/.."
go build -o bin/vigil ./cmd/vigil && go run ./internal/tools/livebench -vigil bin/vigil "$@"
