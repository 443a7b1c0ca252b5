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

# The real servers the sink tests run against (internal/testservers), pinned.
MINIO_VERSION  := v0.0.0-20260212201848-7aac2a2c5b7c
CHDB_VERSION   := 26.7.3-stable.1
DUCKDB_VERSION := 1.5.6-r.1
MINIO      := $(CACHE)/minio/$(MINIO_VERSION)/minio
CHDB_DIR   := $(CACHE)/chdb/$(CHDB_VERSION)
CHDB_HOST  := $(CHDB_DIR)/chdb-host
DUCKDB_DIR := $(CACHE)/duckdb/$(DUCKDB_VERSION)
DUCKDB_API := $(DUCKDB_DIR)/node_modules/@duckdb/node-api/package.json
SERVER_ENV := CONNECTD_MINIO=$(MINIO) CONNECTD_CHDB_HOST=$(CHDB_HOST) CONNECTD_DUCKDB=$(DUCKDB_DIR) CONNECTD_REQUIRE_SERVERS=1

.PHONY: all build demo demo-clean test unit integration lint tidy-check bench tools kcat servers clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/connectd

demo: build $(CHDB_HOST)
	$(BIN) demo --config-dir configs/demo --data-dir .demo --clickhouse-host $(CHDB_HOST)

demo-clean:
	rm -rf .demo

test: lint unit integration

unit: servers
	$(SERVER_ENV) $(GO) test -race -count=1 -timeout 20m ./...

integration: build tools servers
	@mkdir -p $(CACHE)
	$(SERVER_ENV) CONNECTD_BIN=$(BIN) CONNECTD_CACHE=$(CACHE) $(GO) test -tags integration -count=1 -timeout 40m ./integration/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/...

tidy-check:
	$(GO) mod tidy -e
	git diff --exit-code go.mod go.sum

bench: servers
	$(SERVER_ENV) $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...

# Tools the integration tests use from outside Go.
tools: kcat

kcat:
	@command -v kcat >/dev/null 2>&1 || { echo "installing kcat (Debian package)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null) \
		|| echo "kcat could not be installed; the kcat test will fail"; }

# servers: MinIO (built from the Go module proxy; a cold build takes 10-17
# minutes here), ClickHouse (libchdb.so from npm behind tools/chdb-host) and
# DuckDB (npm, an independent Parquet reader). Each lands in $(CACHE) once.
servers: $(MINIO) $(CHDB_HOST) $(DUCKDB_API)

$(MINIO):
	@echo "building MinIO $(MINIO_VERSION) into $(dir $@) (once; takes minutes)"
	GOBIN=$(dir $@) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

$(CHDB_DIR)/libchdb.so:
	@echo "downloading libchdb $(CHDB_VERSION) (npm, ~180 MB, once)"
	rm -rf $(CHDB_DIR)/.pack && mkdir -p $(CHDB_DIR)/.pack
	cd $(CHDB_DIR)/.pack && npm pack --silent @chdb/lib-linux-x64-gnu@$(CHDB_VERSION) >/dev/null && tar xzf *.tgz --strip-components=1
	mv $(CHDB_DIR)/.pack/libchdb.so $@ && rm -rf $(CHDB_DIR)/.pack

$(CHDB_HOST): tools/chdb-host/host.c $(CHDB_DIR)/libchdb.so
	gcc -O2 -Wall -o $@ $< -L$(CHDB_DIR) -lchdb -Wl,-rpath,'$$ORIGIN'

$(DUCKDB_API):
	mkdir -p $(DUCKDB_DIR)
	cd $(DUCKDB_DIR) && npm install --silent --no-audit --no-fund @duckdb/node-api@$(DUCKDB_VERSION)

clean:
	rm -rf bin .demo
