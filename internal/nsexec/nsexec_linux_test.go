package nsexec_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/jumpgate/jumpgate/internal/nsexec"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

// namedNS makes a namespace under /run/netns, deleted in t.Cleanup.
func namedNS(t *testing.T) (string, netns.NsHandle) {
	t.Helper()
	nstest.RequireRoot(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := "jgnsexec" + hex.EncodeToString(b)
	h, err := nsexec.NewNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return filepath.Join("/run/netns", name), h
}

// checkHome fails t unless the calling thread is in the process's own
// namespace.
func checkHome(t *testing.T) {
	t.Helper()
	cur, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	self, err := nsexec.Self()
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if !cur.Equal(self) {
		t.Errorf("calling thread left in another namespace")
	}
}

func TestDo(t *testing.T) {
	path, h := namedNS(t)
	t.Parallel()
	err := nsexec.Do(path, func() error {
		cur, err := netns.Get()
		if err != nil {
			return err
		}
		defer cur.Close()
		if !cur.Equal(h) {
			t.Errorf("fn does not run in %s", path)
		}
		la := netlink.NewLinkAttrs()
		la.Name = "nsexecbr0"
		return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la})
	})
	if err != nil {
		t.Fatal(err)
	}
	checkHome(t)
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	if _, err := nh.LinkByName("nsexecbr0"); err != nil {
		t.Errorf("link made inside Do is not in the namespace: %v", err)
	}
	if _, err := netlink.LinkByName("nsexecbr0"); err == nil {
		t.Errorf("link made inside Do shows up in the process's namespace")
	}
}

func TestDoReturnsFnError(t *testing.T) {
	path, _ := namedNS(t)
	t.Parallel()
	want := errors.New("from fn")
	if err := nsexec.Do(path, func() error { return want }); !errors.Is(err, want) {
		t.Errorf("Do = %v, want %v", err, want)
	}
	checkHome(t)
}

func TestDoMissingNamespace(t *testing.T) {
	nstest.RequireRoot(t)
	t.Parallel()
	ran := false
	err := nsexec.Do("/run/netns/jgnsexec-does-not-exist", func() error { ran = true; return nil })
	if !errors.Is(err, os.ErrNotExist) || ran {
		t.Errorf("Do on a missing namespace = %v (fn ran: %v), want not-exist and fn not run", err, ran)
	}
}

func TestNew(t *testing.T) {
	nstest.RequireRoot(t)
	t.Parallel()
	h, err := nsexec.New()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	checkHome(t)
	self, err := nsexec.Self()
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if h.Equal(self) {
		t.Errorf("New returned the process's own namespace")
	}
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	links, err := nh.LinkList()
	if err != nil || len(links) != 1 {
		t.Errorf("a new namespace holds %d links (%v), want only lo", len(links), err)
	}
}
