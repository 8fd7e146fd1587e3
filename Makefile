# Warren — build, run and test. See README.md.
GO        ?= go
BIN       ?= bin/warren
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
TEST_TIMEOUT ?= 14m
FUZZTIME  ?= 60s

.PHONY: all build run test test-deps lint unit fuzz bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/warren

## run: a standalone server on embedded defaults (data under ./data, client port 127.0.0.1:2181)
run: build
	./$(BIN) server

## test: install what the tests need, check formatting and vet, run every test (race detector on)
test: test-deps lint unit

test-deps:
	bash scripts/test-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# core/sim is a single-goroutine deterministic simulation (500 seeds): the race detector finds
# nothing there and makes it five times slower, so it runs without -race.
# WARREN_REQUIRE_JAVA: test-deps installed Curator and a JDK, so the recipe tests that run a
# Curator process fail instead of skipping when they cannot.
unit:
	WARREN_REQUIRE_JAVA=1 $(GO) test -race -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v '/core/sim$$')
	$(GO) test -timeout $(TEST_TIMEOUT) ./core/sim

## fuzz: run every fuzz target for FUZZTIME each (make test only replays the committed corpora)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## bench: Warren and Apache ZooKeeper side by side; writes docs/benchmarks.md
bench: build test-deps
	bash scripts/bench.sh

clean:
	rm -rf bin

## chaos: the long runs of the crash test (tests/crash: SIGKILL a real server CHAOS_KILLS times under
## write load, or for CHAOS_TIME) and of the ensemble chaos test (tests/ensemble: CHAOS_ROUNDS rounds of
## SIGKILL/SIGSTOP/SIGTERM on 3- and 5-member ensembles, porcupine-checked); CHAOS_SEED=<seed> replays
## a run's decisions
CHAOS_KILLS ?= 500
CHAOS_TIME  ?= 30m
CHAOS_ROUNDS ?= 200
.PHONY: chaos
chaos:
	WARREN_CRASH_KILLS=$(CHAOS_KILLS) WARREN_CRASH_TIME=$(CHAOS_TIME) WARREN_CRASH_SEED=$(CHAOS_SEED) \
	  $(GO) test -count=1 -v -timeout 2h -run '^TestCrashRecovery$$' ./tests/crash
	WARREN_ENSEMBLE_ROUNDS=$(CHAOS_ROUNDS) WARREN_ENSEMBLE_SEED=$(CHAOS_SEED) \
	  $(GO) test -count=1 -v -timeout 2h -run '^TestChaos$$' ./tests/ensemble

## sim: the deterministic simulations over SEEDS seeds each (make test runs 500 of core/sim and 25 of
## core/zab's): whole members (replica + ZAB) with clients checked by porcupine in core/sim, the protocol
## core alone in core/zab; crashes between persist and completion, lost and duplicated messages,
## partitions, pauses, TRUNC and SNAP syncs. SIM_SEED=<n> go test -run TestSimulate ./core/sim replays one.
SEEDS ?= 1000
.PHONY: sim
sim:
	bash -o pipefail -c "SIM_SEEDS=$(SEEDS) $(GO) test -count=1 -timeout 0 -run 'TestSimulate$$' -v ./core/sim | grep -v '^=== RUN\|^    --- PASS\|took'"
	bash -o pipefail -c "ZAB_SEEDS=$(SEEDS) $(GO) test -count=1 -timeout 0 -run 'TestEnsembleSurvivesCrashes' -v ./core/zab | grep -v '^=== RUN\|^    --- PASS'"
