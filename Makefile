# promisekit: Kratix promise pipelines in Go.
#
#   make demo    run every promise locally on its examples (no cluster, no cloud account)
#   make test    run every test, both Go modules, and the demo with a leak scan
#   make build   static pipeline binaries in bin/
#   make bench   time the stages against the floor binary; writes docs/benchmarks.md
#   make images  the pipelines' images as OCI layouts in dist/images/ (no Docker)
#   make push REGISTRY=...       push them
#   make release VERSION=vX.Y.Z  dist/: images, Promise files by digest, platform/ bundle, SHA256SUMS

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REGISTRY ?= ghcr.io/promisekit
# The same flags as the Dockerfile: static, reproducible, stripped, stamped.
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X github.com/promisekit/promisekit/pkg/kratix.Version=$(VERSION)"
export CGO_ENABLED := 0
export GOTOOLCHAIN := local

PIPELINES := $(notdir $(wildcard pipelines/*))
TOOLS     := kratix-run floor rusage leakscan $(notdir $(wildcard cmd/devkeys))
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build tools test test-root test-kratix test-demo lint bench demo images push release promises fuzz clean

all: build

build: $(addprefix bin/,$(PIPELINES)) tools

tools: $(addprefix bin/,$(TOOLS)) bin/example

# A pipeline's directory may hold more commands below it (environment's
# environment-aws): they ship in the same image, and build into bin/ too.
bin/%: FORCE
	@if [ -d pipelines/$* ]; then $(GO) build $(GOFLAGS_BUILD) -o bin/ ./pipelines/$*/...; \
	elif [ -d cmd/$* ]; then $(GO) build $(GOFLAGS_BUILD) -o $@ ./cmd/$*; \
	else echo "no source for $*" >&2; exit 1; fi

bin/example: FORCE
	$(GO) build $(GOFLAGS_BUILD) -o bin/ ./test/example/cmd/...

FORCE:

test: test-root test-kratix test-demo

# The race detector covers the packages that render concurrently.
# test/image builds every image and runs it with runc: it runs on its own,
# after the rest, so that its load does not overlap environment's fault
# tests, which have failed under load (AWS SDK retries through a fault
# proxy; a known flake, not yet understood). cmd/pkbench's
# TestShellStagesMatchOurs runs the built stages against the shell stages'
# CLIs, so both are built first.
test-root: build bin/shell
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v '/test/image$$')
	$(GO) test -count=1 -timeout 15m ./test/image/
	CGO_ENABLED=1 $(GO) test -count=1 -race -timeout 10m ./pkg/render/...
	CGO_ENABLED=1 $(GO) test -count=1 -race -timeout 15m -run 'TestParallelRenders' ./promises/apiaggregator/

# Kratix's own code, in a module of its own: its Kubernetes libraries
# (controller-runtime v0.20) do not build with the ones Gateway API v1.6 needs.
test-kratix:
	cd test/kratix && $(GO) test -count=1 -timeout 25m ./...

# The demo, run as a test: every promise's real binaries through the local
# runner, then a leak scan of everything they wrote and printed. The demo's
# development keys are secrets on purpose and are left out.
test-demo: build
	@mkdir -p .demo
	@bash hack/demo.sh .demo/test >.demo/test-demo.log 2>&1 || { cat .demo/test-demo.log; echo "make test-demo: the demo failed"; exit 1; }
	bin/leakscan -skip .demo/test/natsuser/keys .demo/test .demo/test-demo.log

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd test/kratix && $(GO) vet ./...
	@[ -x $(STATICCHECK) ] || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.6.1
	$(STATICCHECK) ./...

# The in-process benchmarks run even when a stage is over its budget; the
# target then fails with pkbench's status.
bench: build bin/shell
	@status=0; $(GO) run ./cmd/pkbench -bin bin -o docs/benchmarks.md || status=$$?; \
	$(GO) test -run '^$$' -bench . -benchtime 1x ./promises/... || status=$$?; \
	exit $$status

# The CLIs the shell-script stages in bench/shell drive (the status quo the
# benchmark compares with), at the versions bench/shell/tools/go.mod pins.
# An explicit rule, so bin/% does not take it for a pipeline.
bin/shell: FORCE
	@mkdir -p bin/shell
	$(GO) build -C bench/shell/tools -o ../../../bin/shell/ytt carvel.dev/ytt/cmd/ytt
	$(GO) build -C bench/shell/tools -o ../../../bin/shell/yq github.com/mikefarah/yq/v4
	$(GO) build -C bench/shell/tools -o ../../../bin/shell/kubeseal github.com/bitnami-labs/sealed-secrets/cmd/kubeseal

demo: build
	bash hack/demo.sh .demo

# cmd/pkimage through `go run`, not from bin/: tests run make concurrently,
# and one must not exec a binary another is rewriting (go run's build is
# cached).
PKIMAGE := $(GO) run ./cmd/pkimage

# One image per pipeline, without a container engine: its commands built
# for each platform (the flags of `make build`), then assembled by
# cmd/pkimage (internal/ociimage) from scratch into one multi-platform index,
# an OCI layout in dist/images/<p>/. The same commit gives the same digests
# on any machine: every time in the image is the commit's (SOURCE_DATE_EPOCH).
# The Dockerfile builds the same filesystem for those who use Docker.
IMAGE_PLATFORMS   ?= linux/amd64 linux/arm64
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
REVISION          ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
images:
	@for p in $(PIPELINES); do \
		flags=; \
		for pl in $(IMAGE_PLATFORMS); do \
			d=$(DIST)/bin/$$(echo $$pl | tr / -)/$$p; rm -rf $$d; mkdir -p $$d; \
			GOOS=$${pl%%/*} GOARCH=$${pl#*/} $(GO) build $(GOFLAGS_BUILD) -o $$d/ ./pipelines/$$p/... || exit 1; \
			flags="$$flags -platform $$pl=$$d"; \
		done; \
		$(PKIMAGE) build -pipeline $$p $$flags -out $(DIST)/images/$$p -ref $(REGISTRY)/$$p:$(VERSION) \
			-version $(VERSION) -revision $(REVISION) -epoch $(SOURCE_DATE_EPOCH) || exit 1; \
	done

# Pushes every image of dist/images (make images or make release wrote
# them; push never rebuilds what it pushes) to REGISTRY/<p>:VERSION with the
# same library (credentials from the Docker config, ~/.docker/config.json).
push:
	@for p in $(PIPELINES); do \
		[ -f $(DIST)/images/$$p/index.json ] || { echo "no $(DIST)/images/$$p: run make images or make release first" >&2; exit 1; }; \
		$(PKIMAGE) push -layout $(DIST)/images/$$p -ref $(REGISTRY)/$$p:$(VERSION) || exit 1; \
	done

# A release: dist/ with the images (OCI layouts), the Promise files pointing
# at them by digest and carrying VERSION, the platform bundle (deploy/platform
# in NAMESPACE) and SHA256SUMS of all of it. test/kratix (release_test.go)
# runs it and checks every file against Kratix's and Kubernetes' types.
release:
	@echo '$(VERSION)' | grep -Eqx 'v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?' || { echo "VERSION=$(VERSION) is not vX.Y.Z" >&2; exit 1; }
	@case '$(DIST)' in ''|/|.|..|./) echo "DIST=$(DIST): release replaces that directory; name another" >&2; exit 1;; esac
	@rm -rf $(DIST)
	@$(MAKE) -s images VERSION=$(VERSION) DIST=$(DIST) REGISTRY=$(REGISTRY)
	@$(MAKE) -s promises VERSION=$(VERSION) DIST=$(DIST) REGISTRY=$(REGISTRY) NAMESPACE=$(NAMESPACE) >/dev/null
	@rm -rf $(DIST)/bin
	@mkdir -p $(DIST)/platform
	@for f in deploy/platform/*.yaml; do sed 's#promisekit-system#$(NAMESPACE)#g' $$f > $(DIST)/platform/$$(basename $$f); done
	@cd $(DIST) && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | sed 's#^\./##' | xargs sha256sum > SHA256SUMS
	@echo "$(DIST)/: $$(cd $(DIST) && ls | tr '\n' ' ')"

# The Promise files, one per Promise as dist/<name>-promise.yaml (a
# directory's promise.yaml takes the directory's name), with their images
# pointed at this build (by digest when `make images` wrote their layouts in
# DIST/images for the same REGISTRY and VERSION, as `make release` does), their
# kratix.io/promise-version label at VERSION, and their pipelines in
# NAMESPACE (the namespace every ConfigMap, Secret and ServiceAccount the
# pipelines mount is created in: README.md, "Install").
NAMESPACE ?= promisekit-system
DIST      ?= dist
promises:
	@echo '$(NAMESPACE)' | grep -Eqx '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?' || { echo "NAMESPACE=$(NAMESPACE) is not a namespace name (a DNS label)" >&2; exit 1; }
	@echo '$(VERSION)' | grep -Eqx '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?' || { echo "VERSION=$(VERSION) is not a label value (kratix.io/promise-version)" >&2; exit 1; }
	@mkdir -p $(DIST)
	@digests=; for p in $(PIPELINES); do \
		[ -f $(DIST)/images/$$p/index.json ] || continue; \
		grep -q '"org.opencontainers.image.ref.name": *"$(REGISTRY)/'$$p':$(VERSION)"' $(DIST)/images/$$p/index.json || \
			{ echo "$(DIST)/images/$$p is not $(REGISTRY)/$$p:$(VERSION): run make images with the same REGISTRY and VERSION" >&2; exit 1; }; \
		digests="$$digests -e s#($(REGISTRY)/$$p:$(VERSION))\$$#\1@$$($(PKIMAGE) digest -layout $(DIST)/images/$$p)#"; \
	done; \
	for f in promises/*/*promise.yaml; do \
		out=$(DIST)/$$(basename $$f); \
		[ "$$(basename $$f)" != promise.yaml ] || out=$(DIST)/$$(basename $$(dirname $$f))-promise.yaml; \
		sed -E -e 's#ghcr\.io/promisekit/([a-z0-9-]+):[A-Za-z0-9._-]+#$(REGISTRY)/\1:$(VERSION)#g' $$digests \
			-e 's#^( +pipelineNamespace:) promisekit-system$$#\1 $(NAMESPACE)#' \
			-e 's#^( +kratix\.io/promise-version:) .*$$#\1 $(VERSION)#' \
			-e '/^  requiredPromises:/,/^  [a-z]/ s#^( +version:) .*$$#\1 $(VERSION)#' \
			$$f > $$out; \
		echo "$$out"; \
	done

# Every fuzz target for FUZZTIME each; the seed corpora run in `make test` too.
FUZZTIME ?= 30s
fuzz:
	bash hack/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin dist .demo
