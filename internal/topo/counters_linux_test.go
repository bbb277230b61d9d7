package topo

import (
	"context"
	"testing"
)

// TestReadCountersOwnNamespace: the loopback device of the root namespace
// has counters, keyed as the page keys links.
func TestReadCountersOwnNamespace(t *testing.T) {
	t.Parallel()
	c, err := ReadCounters(context.Background(), Options{Filter: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Links["/lo"]; !ok || c.Time == 0 {
		t.Fatalf("no counters for the root namespace's lo: %+v", c)
	}
}
