package engine

import (
	"bytes"
	"slices"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// BenchmarkCompress measures one direction's compression over 32 KiB
// messages (OpenSSH's session packets) of each corpus: MB/s, and the
// compressed size as a percentage of the input ("%out") to set beside
// zlib 6's (docs/perf.md).
func BenchmarkCompress(b *testing.B) {
	const msgSize, total = 32 << 10, 4 << 20
	for _, kind := range sshtest.CorpusKinds() {
		data := sshtest.Corpus(kind, total)
		b.Run("deflate/"+kind, func(b *testing.B) {
			d := newDeflater()
			b.SetBytes(total)
			b.ReportAllocs()
			out := 0
			for b.Loop() {
				out = 0
				for p := range slices.Chunk(data, msgSize) {
					c, err := d.compress(p)
					if err != nil {
						b.Fatal(err)
					}
					out += len(c)
				}
			}
			b.ReportMetric(100*float64(out)/total, "%out")
		})
		b.Run("inflate/"+kind, func(b *testing.B) {
			d := newDeflater()
			var packets [][]byte
			for p := range slices.Chunk(data, msgSize) {
				c, _ := d.compress(p)
				packets = append(packets, bytes.Clone(c))
			}
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				f := newInflater()
				for _, p := range packets {
					if _, err := f.decompress(p); err != nil {
						b.Fatal(err)
					}
				}
				f.close()
			}
		})
	}
}
