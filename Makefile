# make test / make demo install what they need, idempotently: Debian's bpftrace, Node >= 22
# (Node 24 LTS from the npm registry when the system's is older), the npm workspaces, the build.
SHELL := /bin/bash
NODE_BIN := $(shell ./scripts/ensure-node.sh)
ifeq ($(NODE_BIN),)
$(error could not provision Node.js >= 22 (see scripts/ensure-node.sh))
endif
export PATH := $(NODE_BIN):$(PATH)
# Native addons (better-sqlite3) build against the provisioned Node's headers, offline.
ifneq ($(wildcard $(NODE_BIN)/../include/node/node.h),)
export npm_config_nodedir := $(abspath $(NODE_BIN)/..)
endif

.PHONY: all deps system-deps node-deps build test demo bench clean

all: build

system-deps:
	@command -v bpftrace >/dev/null 2>&1 || { \
	  echo "installing bpftrace (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null; }

node_modules/.install-stamp: package.json package-lock.json */package.json
	npm ci --no-audit --no-fund
	@touch $@

node-deps: node_modules/.install-stamp

deps: system-deps node-deps

build: node-deps
	npx tsc -b

test: deps build
	npm test

demo: deps build
	./scripts/demo.sh

bench: deps build
	npm run bench

clean:
	rm -rf */dist */*.tsbuildinfo node_modules .tools
