package vpn

// The far side of peer mode: `jumpgate vpn --serve-peer` sets up its end, writes
// one JSON hello line on stdout, then exchanges frames on stdin/stdout
// until stdin ends (the channel closed, the connection died), and removes
// its end.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// PeerHello is the first line `jumpgate vpn --serve-peer` writes: its device, or
// why it could not make one.
type PeerHello struct {
	Device string `json:"device,omitempty"`
	MTU    int    `json:"mtu,omitempty"`
	// Offload: the device has offloads, so frames carry a virtio_net_hdr
	// (asked for with Config.Offload; false when the kernel refused).
	Offload bool   `json:"offload,omitempty"`
	Error   string `json:"error,omitempty"`
}

// ServePeer is `jumpgate vpn --serve-peer`: cfg's end is set up, announced on out,
// and served until in ends or ctx is done; then it is removed.
func ServePeer(ctx context.Context, cfg Config, in io.Reader, out io.Writer, far io.Closer) error {
	ep, err := Setup(ctx, cfg)
	if cfg.Offload && errors.Is(err, ErrNoOffload) {
		cfg.Offload = false
		ep, err = Setup(ctx, cfg)
	}
	enc := json.NewEncoder(out)
	if err != nil {
		enc.Encode(PeerHello{Error: err.Error()})
		return err
	}
	defer ep.Close()
	if err := enc.Encode(PeerHello{Device: ep.Name(), MTU: cfg.MTU, Offload: cfg.Offload}); err != nil {
		return fmt.Errorf("write hello: %w", err)
	}
	return Pump(ctx, ep, NewPeerReader(in, cfg.MTU, cfg.Offload), NewFrameWriter(out), far, nil)
}

// readHello reads the helper's hello line without reading past it.
func readHello(r *bufio.Reader) (PeerHello, error) {
	var h PeerHello
	line, err := r.ReadBytes('\n')
	if err != nil {
		return h, fmt.Errorf("read helper hello: %w", err)
	}
	if err := json.Unmarshal(line, &h); err != nil {
		return h, fmt.Errorf("helper hello %q: %w", truncate(line, 80), err)
	}
	if h.Error != "" {
		return h, fmt.Errorf("far side: %s", h.Error)
	}
	return h, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
