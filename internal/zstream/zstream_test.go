package zstream

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// TestMessagesArriveAtOnce checks the property the console needs: each
// message written is readable on the far side before the next is sent.
func TestMessagesArriveAtOnce(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	w, err := NewWriter(pw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make(chan string)
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, err := r.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()
	msgs := []string{"REDQ\x02\x00\x00\x00", strings.Repeat("glyph ", 500), "x", strings.Repeat("glyph ", 500)}
	// One writer, as in Compress: the next message goes only once the
	// last one was read whole.
	delivered := make(chan bool)
	go func() {
		for _, msg := range msgs {
			w.Write([]byte(msg))
			if !<-delivered {
				return
			}
		}
	}()
	defer close(delivered)
	for i, msg := range msgs {
		var all string
		for len(all) < len(msg) {
			select {
			case s := <-got:
				all += s
			case <-time.After(10 * time.Second):
				t.Fatalf("message %d not delivered until the next is written", i)
			}
		}
		if all != msg {
			t.Fatalf("message %d: got %d bytes, want %d", i, len(all), len(msg))
		}
		if i < len(msgs)-1 {
			delivered <- true
		}
	}
	pw.Close()
	for range got {
		// The reader ends before the deferred Close frees its decoder:
		// zstd's Decoder may not be closed during a Read.
	}
}

func TestRoundTripAndHistory(t *testing.T) {
	t.Parallel()
	msg := []byte(strings.Repeat("a tile of a display, repeated later ", 100))
	var wire bytes.Buffer
	w, err := NewWriter(&wire)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(msg)
	first := wire.Len()
	w.Write(msg)
	second := wire.Len() - first
	w.Close()
	// The second copy refers to the first through the window.
	if second > first/4 || second > 40 {
		t.Errorf("second copy took %d bytes, first %d: no history across messages", second, first)
	}
	var out bytes.Buffer
	if _, err := Decompress(&out, &wire); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), append(append([]byte{}, msg...), msg...)) {
		t.Errorf("round trip changed the stream")
	}
}

func TestCutShort(t *testing.T) {
	t.Parallel()
	var wire bytes.Buffer
	w, _ := NewWriter(&wire)
	w.Write([]byte(strings.Repeat("abc", 1000)))
	b := wire.Bytes()[:wire.Len()-3]
	if _, err := Decompress(io.Discard, bytes.NewReader(b)); err == nil {
		t.Errorf("a stream cut inside a block decoded without an error")
	}
}

func FuzzDecompress(f *testing.F) {
	var wire bytes.Buffer
	w, _ := NewWriter(&wire)
	w.Write([]byte("REDQ spice link"))
	w.Write([]byte("REDQ spice link again"))
	w.Close()
	f.Add(wire.Bytes())
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		Decompress(&limitWriter{&out, 1 << 24}, bytes.NewReader(b))
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello"), []byte("hello again"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var wire bytes.Buffer
		w, err := NewWriter(&wire)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(a)
		w.Write(b)
		w.Close()
		var out bytes.Buffer
		if _, err := Decompress(&out, &wire); err != nil {
			t.Fatal(err)
		}
		if want := append(append([]byte{}, a...), b...); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("round trip: %d bytes, want %d", out.Len(), len(want))
		}
	})
}

type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, io.ErrShortWrite
	}
	l.n -= len(p)
	return l.w.Write(p)
}
