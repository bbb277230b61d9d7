package sshio

import (
	"bytes"
	"testing"
)

// chunkRecorder keeps the size of every write.
type chunkRecorder struct {
	bytes.Buffer
	sizes []int
}

func (r *chunkRecorder) Write(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	return r.Buffer.Write(p)
}

func TestChannelWriterChunks(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		sizes []int
	}{
		{"empty", 0, nil},
		{"small", 100, []int{100}},
		{"one chunk", ChannelChunk, []int{ChannelChunk}},
		{"a byte over", ChannelChunk + 1, []int{ChannelChunk, 1}},
		{"copy buffer", 256 << 10, []int{ChannelChunk, ChannelChunk, ChannelChunk, ChannelChunk, ChannelChunk, ChannelChunk, ChannelChunk, ChannelChunk, 256<<10 - 8*ChannelChunk}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("jumpgate"), tc.size/8+1)[:tc.size]
			var r chunkRecorder
			n, err := ChannelWriter{&r}.Write(data)
			if err != nil || n != tc.size {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, tc.size)
			}
			if !bytes.Equal(r.Bytes(), data) {
				t.Errorf("data changed on the way")
			}
			if len(r.sizes) != len(tc.sizes) {
				t.Fatalf("writes %v, want %v", r.sizes, tc.sizes)
			}
			for i := range r.sizes {
				if r.sizes[i] != tc.sizes[i] {
					t.Fatalf("writes %v, want %v", r.sizes, tc.sizes)
				}
			}
		})
	}
}

// sizedRecorder is a channel that sizes its own packets.
type sizedRecorder struct{ chunkRecorder }

func (*sizedRecorder) MaxMessage() int { return 32 << 10 }

// TestChannelWriterWhole: a channel that sizes its own packets gets each
// write whole, so that it can send them as one burst.
func TestChannelWriterWhole(t *testing.T) {
	data := bytes.Repeat([]byte("jumpgate"), 32<<10)
	var r sizedRecorder
	if n, err := (ChannelWriter{&r}).Write(data); err != nil || n != len(data) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(data))
	}
	if len(r.sizes) != 1 || !bytes.Equal(r.Bytes(), data) {
		t.Errorf("writes %v, want one of %d bytes", r.sizes, len(data))
	}
}
