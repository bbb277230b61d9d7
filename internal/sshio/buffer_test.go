package sshio

import (
	"bytes"
	"io"
	"testing"
)

// fastPaths records whether io.CopyBuffer handed the copy to a
// ReaderFrom or WriterTo, and the largest read it was asked for.
type fastPaths struct {
	r       io.Reader
	w       bytes.Buffer
	used    bool
	largest int
}

func (f *fastPaths) Read(p []byte) (int, error) {
	f.largest = max(f.largest, len(p))
	return f.r.Read(p)
}
func (f *fastPaths) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f *fastPaths) ReadFrom(r io.Reader) (int64, error) {
	f.used = true
	return f.w.ReadFrom(r)
}
func (f *fastPaths) WriteTo(w io.Writer) (int64, error) {
	f.used = true
	return io.Copy(w, f.r)
}

func TestCopyUsesItsOwnBuffer(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), CopyBufferSize/8) // two buffers' worth
	src := &fastPaths{r: bytes.NewReader(data)}
	dst := &fastPaths{}
	n, err := Copy(dst, src)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
	}
	if !bytes.Equal(dst.w.Bytes(), data) {
		t.Errorf("copied data differs")
	}
	if src.used || dst.used {
		t.Errorf("Copy handed the copy to WriteTo (%v) or ReadFrom (%v)", src.used, dst.used)
	}
	if src.largest != CopyBufferSize {
		t.Errorf("largest read %d bytes, want %d", src.largest, CopyBufferSize)
	}
}
