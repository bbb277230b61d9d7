package forward

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshconf"
)

func TestCancelRemote(t *testing.T) {
	c := startServer(t)
	target := upperServer(t, "tcp", "127.0.0.1:0").Addr().(*net.TCPAddr)
	f := New(c, Options{})
	t.Cleanup(func() { f.Close() })
	ctx := context.Background()
	tests := []struct {
		name string
		spec string
	}{
		{"fixed port", "127.0.0.1:0:127.0.0.1:" + strconv.Itoa(target.Port)},
		{"allocated port", "0:127.0.0.1:" + strconv.Itoa(target.Port)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw, err := sshconf.ParseForward(tt.spec, sshconf.Remote, nil)
			if err != nil {
				t.Fatal(err)
			}
			addr, err := f.Start(ctx, fw)
			if err != nil {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(addr.String())
			listen := net.JoinHostPort("127.0.0.1", port)
			conn, err := net.DialTimeout("tcp", listen, 5*time.Second)
			if err != nil {
				t.Fatalf("before cancel: %v", err)
			}
			conn.Close()
			if err := f.CancelRemote(ctx, fw); err != nil {
				t.Fatalf("CancelRemote: %v", err)
			}
			if conn, err := net.DialTimeout("tcp", listen, 5*time.Second); err == nil {
				conn.Close()
				t.Errorf("%s still accepts after CancelRemote", listen)
			}
			if err := f.CancelRemote(ctx, fw); !errors.Is(err, ErrNotForwarded) {
				t.Errorf("second CancelRemote: %v, want ErrNotForwarded", err)
			}
		})
	}
}
