// Package nstest is the one gate for tests that need root or a network
// namespace: it skips them on machines without CAP_NET_ADMIN, fails them
// instead when JUMPGATE_TEST_REQUIRE_ROOT=1 (as CI sets it), and gives each
// test a fresh, throw-away network namespace.
package nstest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/jumpgate/jumpgate/internal/nsexec"
)

// RequireRootEnv is the environment variable that turns the gate's skips
// into failures: a root test that silently skips in CI does not exist.
const RequireRootEnv = "JUMPGATE_TEST_REQUIRE_ROOT"

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets (capability.h).
const capNetAdmin = 12

// New skips t unless the process has CAP_NET_ADMIN (failing it instead when
// [RequireRootEnv] is 1), creates a fresh network namespace and returns a
// netlink handle in it. The handle and the namespace go away in t.Cleanup.
// The calling goroutine's thread is left in its original namespace.
func New(t testing.TB) *netlink.Handle {
	t.Helper()
	RequireRoot(t)

	ns, err := nsexec.New()
	if err != nil {
		t.Fatalf("nstest: %v", err)
	}

	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		t.Fatalf("nstest: netlink handle in new namespace: %v", err)
	}
	t.Cleanup(func() {
		h.Close()
		ns.Close()
	})
	return h
}

// RequireRoot is the gate alone, for tests that need root (CAP_NET_ADMIN
// and CAP_SYS_ADMIN, as namespaces and mounts do) but not a fresh namespace.
func RequireRoot(t testing.TB) {
	t.Helper()
	ok, why := privileged()
	if ok {
		return
	}
	if os.Getenv(RequireRootEnv) == "1" {
		t.Fatalf("requires CAP_NET_ADMIN (%s), and %s=1 forbids skipping", why, RequireRootEnv)
	}
	t.Skipf("requires CAP_NET_ADMIN (%s); run make test", why)
}

// privileged reports whether the process may create namespaces and links.
func privileged() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "not root"
	}
	caps, err := effectiveCaps()
	if err != nil {
		return false, err.Error()
	}
	if caps&(1<<capNetAdmin) == 0 {
		return false, "root without CAP_NET_ADMIN"
	}
	return true, ""
}

// effectiveCaps reads CapEff from /proc/self/status.
func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read capabilities: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("parse CapEff %q: %w", v, err)
		}
		return caps, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read capabilities: %w", err)
	}
	return 0, fmt.Errorf("no CapEff in /proc/self/status")
}
