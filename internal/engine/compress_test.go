package engine

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"testing"
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
