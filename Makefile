# The two commands of the README: `make demo` and `make test`.
GO ?= go
OUT ?= jumpgate

.PHONY: build demo test
# Static (no cgo): a multiplexed `jumpgate ssh` is mostly process start-up,
# and the dynamic loader costs ~2 ms of it; vpn's peer mode copies this
# binary to hosts whose libc may differ.
build:
	CGO_ENABLED=0 $(GO) build -o $(OUT) ./cmd/jumpgate

# The main job on the embedded lab: a command on vm1 through two hops.
demo: build
	./jumpgate lab demo

# The whole suite; installs openssh-server, iproute2, iperf3… if missing.
test:
	scripts/test.sh
