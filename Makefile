# Vigil — make targets. `make demo` and `make test` are the two set-up
# commands of the README's quick start.
GO        ?= go
BIN       := bin/vigil
FUZZTIME  ?= 3m
export CGO_ENABLED := 1

.PHONY: build demo test test-short deps vet bench fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/vigil

# Replays a real attack log (captured from PostgreSQL 15 + pgaudit by the
# integration harness) through the full pipeline and prints the alerts.
demo: build
	@./scripts/demo.sh $(BIN)

# Installs missing packages (as root on Debian/Ubuntu), then vets and runs
# every test, the integration tests against a real PostgreSQL included.
test: deps vet
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race -timeout 10m ./detect/... ./stmt/... ./pipeline/... ./parse/... ./store/... ./source/... ./server/... ./config/... ./notify/...

test-short: vet
	$(GO) test -count=1 -short ./...

deps:
	@./scripts/deps.sh

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# Generates a >= 1 GB pgaudit log (not committed) and measures replay
# throughput against pgbadger on the same file.
bench: build
	@./scripts/bench.sh

# Runs every fuzz target for $(FUZZTIME) each, one after the other.
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
