package client

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/jumpgate/jumpgate/internal/vlog"
)

// TestDialMasterGoneDuringHello: a master that accepts and goes away
// before its hello (killed as we connected) is no master, said only in a
// debug line, as a refused socket is; seen in CI as a default-level
// "Control socket connect(...): read hello: ... connection reset by peer".
func TestDialMasterGoneDuringHello(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ctl")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var said bytes.Buffer
	r := &Client{log: vlog.New(&said, vlog.Info)}
	c, dead, err := r.dialMasterFor(context.Background(), path, false, false)
	if c != nil || dead || err == nil {
		t.Fatalf("dialMasterFor: %v, dead %v, err %v; want no master, not dead, an error", c, dead, err)
	}
	if said.Len() != 0 {
		t.Errorf("said at the default level: %q", said.String())
	}
}
