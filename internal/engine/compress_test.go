package engine

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

func TestCompressRoundTrip(t *testing.T) {
	t.Parallel()
	d, f := newDeflater(), newInflater()
	defer f.close()
	for i := range 200 {
		p := bytes.Repeat([]byte(fmt.Sprintf("message %d ", i)), 1+i*37%3000)
		c, err := d.compress(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.decompress(c)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("packet %d: got %d bytes, want %d", i, len(got), len(p))
		}
	}
}

// TestInflateBomb: a small packet that inflates past the bound fails
// cleanly instead of growing without end.
func TestInflateBomb(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, 9)
	zw.Write(make([]byte, 64<<20))
	zw.Flush()
	if b.Len() > 1<<17 {
		t.Fatalf("bomb is %d bytes", b.Len())
	}
	f := newInflater()
	defer f.close()
	_, err := f.decompress(b.Bytes())
	if !errors.Is(err, errInflatedTooLarge) {
		t.Fatalf("decompress = %v, want %v", err, errInflatedTooLarge)
	}
	if _, err := f.decompress([]byte{1}); err == nil {
		t.Fatal("inflater still works after a bomb")
	}
}

// TestCompressionsOffered: a client compresses only when asked, a server
// offers delayed compression (sshd's default) but never zlib, and a
// configured list keeps only what we implement.
func TestCompressionsOffered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  transportConfig
		want []string
	}{
		{"client", transportConfig{}, []string{"none"}},
		{"client -C", transportConfig{compression: true}, []string{"zlib@openssh.com", "zlib", "none"}},
		{"server", transportConfig{isServer: true, compression: true}, []string{"zlib@openssh.com", "none"}},
		{"configured", transportConfig{algorithms: sshwire.AlgorithmList{Compressions: []string{"zlib@openssh.com", "lz4", "none"}}},
			[]string{"zlib@openssh.com", "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := &transport{cfg: &tt.cfg, isClient: !tt.cfg.isServer}
			if got := tr.compressions(); !slices.Equal(got, tt.want) {
				t.Errorf("compressions() = %q, want %q", got, tt.want)
			}
		})
	}
}
