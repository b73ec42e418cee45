# Shardis — build, run and test.
#
#   make run    start a local cluster (3 shards + 1 proxy) on 127.0.0.1:6379
#   make test   install test dependencies if missing, then lint and run every test

GO        ?= go
BIN       := bin/shardis
STATICCHECK_VERSION := v0.8.2
GOBIN     := $(shell $(GO) env GOPATH)/bin
RUN_ARGS  ?=

.PHONY: all build run test test-short bench bench-smoke bench-quick chaos deps lint vet fmt-check staticcheck fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/shardis

run: build
	./$(BIN) dev $(RUN_ARGS)

## deps: the external programs the tests drive (redis-server for the
## differential test, redis-cli/redis-benchmark, redis-py) and staticcheck.
deps:
	@scripts/deps.sh
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

staticcheck:
	$(GOBIN)/staticcheck ./...

lint: fmt-check vet staticcheck

## test: everything CI runs. Race detector on; fuzz targets run their seed
## corpus; the big-collection tests of node (a 1,000,000-field hash on
## three copies, built without -race) run on their own afterwards; every
## Go benchmark runs once so none can rot; the side-by-side benchmark runs
## one short round (its table goes to a temporary file).
test: deps lint
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -count=1 -timeout 5m -run 'TestBigHash|TestUnlinkBig' ./node/
	$(MAKE) bench-smoke
	$(MAKE) bench-quick

## bench: Shardis (RF 1 and 3) against redis-server and twemproxy under
## redis-benchmark; writes bench/results.md. BENCH_QUICK=1 for a smoke run.
bench: build
	bench/run

bench-smoke:
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

bench-quick: build
	@out=$$(mktemp); log=$$(mktemp); \
	if BENCH_QUICK=1 BENCH_ROUNDS=1 BENCH_OUT=$$out bench/run >/dev/null 2>$$log; then \
		echo "bench-quick: the side-by-side benchmark's smoke run passed"; rm -f $$out $$log; \
	else cat $$log; rm -f $$out $$log; exit 1; fi

## chaos: the chaos test for longer (CHAOS_DURATION): 5 shard processes and
## 2 proxies under load while shards are killed with kill -9 and restarted;
## checks every acknowledged write, counter and register history. make test
## runs it for 20 s.
CHAOS_DURATION ?= 120s
chaos: build
	SHARDIS_CHAOS_DURATION=$(CHAOS_DURATION) $(GO) test -race -count=1 -timeout 20m -run 'TestChaos$$' -v ./tests/

## test-short: unit tests only, no external programs needed.
test-short:
	$(GO) test -count=1 -short ./ring/... ./resp/... ./configs/...

## fuzz: a longer fuzzing run of the RESP decoders (FUZZTIME each).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParseValue -fuzztime=$(FUZZTIME) ./resp/
	$(GO) test -run='^$$' -fuzz=FuzzReplyReader -fuzztime=$(FUZZTIME) ./resp/
	$(GO) test -run='^$$' -fuzz=FuzzLimitConn -fuzztime=$(FUZZTIME) ./resp/

clean:
	rm -rf bin
