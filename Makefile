# connectd — build, demo, test.
#
#   make demo   build, then run the demo pipeline (embedded Kafka, generator, file sink)
#   make test   lint, unit tests (race detector) and integration tests against real servers;
#               installs what they need, caching under $(CACHE)
#   make bench  benchmarks
#
# Everything downloaded or built for tests lives under $(CACHE), so a second run is fast.

GO        ?= go
CACHE     ?= $(HOME)/.cache/connectd
BIN       := $(CURDIR)/bin/connectd
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
export GOFLAGS := -buildvcs=false
SHELL     := /bin/bash

.PHONY: all build demo demo-clean test unit integration lint tidy-check bench tools kcat clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/connectd

demo: build
	$(BIN) demo --config-dir configs/demo --data-dir .demo

demo-clean:
	rm -rf .demo

test: lint unit integration

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

integration: build tools
	@mkdir -p $(CACHE)
	CONNECTD_BIN=$(BIN) CONNECTD_CACHE=$(CACHE) $(GO) test -tags integration -count=1 -timeout 40m ./integration/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/...

tidy-check:
	$(GO) mod tidy -e
	git diff --exit-code go.mod go.sum

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...

# Tools the integration tests use from outside Go.
tools: kcat

kcat:
	@command -v kcat >/dev/null 2>&1 || { echo "installing kcat (Debian package)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null) \
		|| echo "kcat could not be installed; the kcat test will fail"; }

clean:
	rm -rf bin .demo
