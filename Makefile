# make test / make demo install what they need, idempotently: bpftrace >= 0.23 (the system's, or
# Debian 13's unpacked into .tools by scripts/ensure-bpftrace.sh), Debian's nats-server,
# a JDK and Maven (for Neo4j from Maven Central), Node >= 22 (Node 24 LTS from the npm registry
# when the system's is older), the npm workspaces, of-watchdog and faas-cli (built offline), the build. The tests start Neo4j and NATS
# themselves (test/global-setup.ts through scripts/neo4j.sh and scripts/nats.sh).
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

.PHONY: all deps system-deps bpftrace-deps node-deps py-deps openfaas-tools template-deps build test shop-deps demo-intro demo bench clean neo4j nats services-stop

all: build

APT_NEEDS := $(strip \
  $(if $(shell command -v nats-server),,nats-server) \
  $(if $(shell command -v javac),,openjdk-17-jdk-headless) \
  $(if $(shell command -v mvn),,maven) \
  $(if $(shell command -v dot),,graphviz) \
  $(if $(shell command -v bindfs),,bindfs) \
  $(if $(shell command -v nm),,binutils) \
  $(if $(shell command -v bpftool),,bpftool) \
  $(if $(wildcard /usr/bin/chromium),,chromium) \
  $(if $(shell python3 -c 'import venv, ensurepip' 2>/dev/null && echo ok),,python3-venv))

system-deps:
ifneq ($(APT_NEEDS),)
	@echo "installing Debian packages: $(APT_NEEDS)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_NEEDS) >/dev/null
endif

# bpftrace >= 0.23: the system's when new enough, else Debian 13's packages unpacked into
# .tools/bpftrace (fetched under a private apt configuration; the system is not touched).
bpftrace-deps:
	@./scripts/ensure-bpftrace.sh >/dev/null

node_modules/.install-stamp: package.json package-lock.json */package.json
	npm ci --no-audit --no-fund
	@touch $@

node-deps: node_modules/.install-stamp

# The Python PROV library reads our PROV-JSON exports back in the tests; the real CUDA runtime
# (libcudart from NVIDIA's PyPI wheel) is what the GPU uprobes attach to (no GPU needed); the
# official OpenTelemetry SDK and its OTLP/HTTP exporter are the independent client of the agent's
# OTLP receiver.
PY_PACKAGES := prov==3.2.3 nvidia-cuda-runtime-cu12==12.9.79 opentelemetry-sdk==1.45.1 opentelemetry-exporter-otlp-proto-http==1.45.1
.tools/pyvenv/.complete-3:
	python3 -m venv .tools/pyvenv
	.tools/pyvenv/bin/pip install -q $(PY_PACKAGES)
	@touch $@

py-deps: .tools/pyvenv/.complete-3

# The real of-watchdog and faas-cli (functions up, the OpenFaaS tests), built offline from their
# unmodified upstream releases in ../shared/third_party (or $FAASPROV_THIRD_PARTY) into .tools/bin.
openfaas-tools:
	./scripts/ensure-openfaas.sh >/dev/null

# The OpenFaaS templates' own dependencies (never the project's workspaces: a function brings them
# in its image), installed as a shrinkwrapped build installs them, for the tests that run the real
# wrapper servers. The python venv also has opentelemetry-proto, which the test OTLP receiver uses.
NODE_TPL := openfaas-templates/template/node24-faasprov
PY_TPL := openfaas-templates/template/python3-http-faasprov
.tools/template-deps/node24-faasprov/.complete: $(NODE_TPL)/package.json $(NODE_TPL)/package-lock.json
	rm -rf $(@D) && mkdir -p $(@D)
	cp $^ $(@D)/
	cd $(@D) && npm ci --omit=dev --no-audit --no-fund
	@touch $@
.tools/template-deps/python3-http-faasprov/.complete: $(PY_TPL)/requirements.txt
	rm -rf $(@D) && python3 -m venv $(@D)
	$(@D)/bin/pip install -q -r $<
	@touch $@

template-deps: .tools/template-deps/node24-faasprov/.complete .tools/template-deps/python3-http-faasprov/.complete

deps: system-deps bpftrace-deps node-deps py-deps openfaas-tools template-deps

build: node-deps
	npm run build

test: deps build
	npm test

# The install step of make demo ends with the shop's own build and its functions' dependencies.
shop-deps: deps build
	./scripts/demo.sh --install

demo-intro:
	@echo "[demo] install step (idempotent; minutes the first time): bpftrace, Node, npm and pip packages, of-watchdog and faas-cli, the build, the shop's dependencies"

demo: demo-intro shop-deps
	@echo "[demo] install step done; the alert and its story follow within two minutes"
	./scripts/demo.sh $(DEMO_ARGS)

bench: deps build
	npm run bench

# Real services for development (the tests start their own on other ports).
neo4j: system-deps
	./scripts/neo4j.sh start

nats: system-deps
	./scripts/nats.sh start

services-stop:
	./scripts/neo4j.sh stop; ./scripts/nats.sh stop

clean:
	rm -rf */dist */*.tsbuildinfo node_modules .tools
