package engine

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkCompress measures one direction's zlib over 32 KiB messages of
// text-like data.
func BenchmarkCompress(b *testing.B) {
	var text bytes.Buffer
	for i := 0; text.Len() < 32*1024; i++ {
		fmt.Fprintf(&text, "line %d: the quick brown fox jumps over the lazy dog %x\n", i, i*7919)
	}
	msg := text.Bytes()[:32*1024]
	b.Run("deflate", func(b *testing.B) {
		d := newDeflater()
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			d.compress(msg)
		}
	})
	b.Run("inflate", func(b *testing.B) {
		d, f := newDeflater(), newInflater()
		defer func() { f.close() }()
		packets := make([][]byte, 64)
		for i := range packets {
			c, _ := d.compress(msg)
			packets[i] = bytes.Clone(c)
		}
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i == len(packets) {
				b.StopTimer()
				f.close()
				d, f = newDeflater(), newInflater()
				for i := range packets {
					c, _ := d.compress(msg)
					packets[i] = bytes.Clone(c)
				}
				i = 0
				b.StartTimer()
			}
			if _, err := f.decompress(packets[i]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
