# The two commands of the README: `make demo` and `make test`.
GO ?= go

.PHONY: build demo test
build:
	$(GO) build -o jumpgate ./cmd/jumpgate

# The main job on the embedded lab: a command on vm1 through two hops.
demo: build
	./jumpgate lab demo

# The whole suite; installs openssh-server, iproute2, iperf3… if missing.
test:
	scripts/test.sh
