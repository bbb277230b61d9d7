package bench

import (
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	kflate "github.com/klauspost/compress/flate"

	"compress/flate"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/zstream"
)

// consoleCodecs are the console's choices: zlib level 6 as ssh -C runs it
// (Go's standard library stands in for OpenSSH's zlib: 1.00x its bytes
// on display streams, docs/perf.md), our engine's -C (klauspost level 6),
// and the peer's zstd.
func consoleCodecs() []Codec {
	flush := func(name string, mk func(io.Writer) (flusher, error)) Codec {
		return Codec{Name: name,
			Writer: func(w io.Writer) (io.WriteCloser, error) {
				f, err := mk(w)
				return flushWriter{f}, err
			},
			Reader: func(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil }}
	}
	return []Codec{
		flush("zlib6 (ssh -C)", func(w io.Writer) (flusher, error) { return flate.NewWriter(w, 6) }),
		flush("klauspost6 (console -C)", func(w io.Writer) (flusher, error) { return kflate.NewWriter(w, 6) }),
		{Name: "zstd (console --compress=zstd)",
			Writer: func(w io.Writer) (io.WriteCloser, error) { return zstream.NewWriter(w) },
			Reader: func(r io.Reader) (io.Reader, error) { return zstream.NewReader(r) }},
	}
}

type flusher interface {
	io.WriteCloser
	Flush() error
}

// flushWriter flushes after every message, as an SSH packet is.
type flushWriter struct{ flusher }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.flusher.Write(p)
	if err != nil {
		return n, err
	}
	return n, f.Flush()
}

// consoleRecording is $JUMPGATE_CONSOLE_RECORDING (see docs/perf.md for
// how one is made), or else the synthetic display corpus in 4 KiB
// messages on one connection.
func consoleRecording(tb testing.TB) ([]Message, string) {
	if p := os.Getenv("JUMPGATE_CONSOLE_RECORDING"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		ms, err := ParseRecording(b)
		if err != nil {
			tb.Fatal(err)
		}
		return ms, p
	}
	b := sshtest.Corpus("spice", 4<<20)
	var ms []Message
	for i := 0; i < len(b); i += 4096 {
		ms = append(ms, Message{ToView: true, At: time.Duration(i), Payload: b[i:min(i+4096, len(b))]})
	}
	return ms, "sshtest.Corpus(spice)"
}

// BenchmarkConsoleCodec runs the codecs over a recorded console stream,
// alternately, and prints each one's bytes, CPU and delay per message
// against ssh -C's zlib.
func BenchmarkConsoleCodec(b *testing.B) {
	ms, src := consoleRecording(b)
	codecs := consoleCodecs()
	res := make([][]CodecResult, len(codecs))
	for b.Loop() {
		for i, c := range codecs {
			r, err := ConsoleCodec(c, ms)
			if err != nil {
				b.Fatal(err)
			}
			res[i] = append(res[i], r)
		}
	}
	med := func(rs []CodecResult, f func(CodecResult) time.Duration) time.Duration {
		var d []time.Duration
		for _, r := range rs {
			d = append(d, f(r))
		}
		return median(d)
	}
	base := res[0]
	bc, bd := med(base, func(r CodecResult) time.Duration { return r.Compress }), med(base, func(r CodecResult) time.Duration { return r.Decompress })
	bm, bp := med(base, func(r CodecResult) time.Duration { return r.MedianDelay }), med(base, func(r CodecResult) time.Duration { return r.P99Delay })
	fmt.Printf("console codecs on %s: %d display messages, %.1f MiB, %d rounds\n", src, len(base[0].Delays), float64(base[0].In)/(1<<20), len(base))
	fmt.Printf("%-32s %10s %7s %10s %7s %10s %7s %9s %7s %9s\n", "codec", "bytes", "ratio", "compress", "ratio", "decompress", "ratio", "delay p50", "ratio", "p99")
	for i, c := range codecs {
		r := res[i]
		cc, dd := med(r, func(r CodecResult) time.Duration { return r.Compress }), med(r, func(r CodecResult) time.Duration { return r.Decompress })
		m, p := med(r, func(r CodecResult) time.Duration { return r.MedianDelay }), med(r, func(r CodecResult) time.Duration { return r.P99Delay })
		fmt.Printf("%-32s %10d %7.3f %10v %7.2f %10v %7.2f %9v %7.2f %9v (%.2f)\n", c.Name, r[0].Out, float64(r[0].Out)/float64(base[0].Out),
			cc.Round(time.Millisecond), float64(cc)/float64(bc), dd.Round(time.Millisecond), float64(dd)/float64(bd),
			m.Round(time.Microsecond/10), float64(m)/float64(bm), p.Round(time.Microsecond), float64(p)/float64(bp))
		b.ReportMetric(float64(r[0].Out)/float64(base[0].Out), fmt.Sprintf("bytes-vs-zlib-%d", i))
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

func FuzzParseRecording(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 5, 0, 0, 0, 3, 'R', 'E', 'D'})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseRecording(b)
		if err != nil {
			return
		}
		n := 0
		for _, m := range ms {
			n += 10 + len(m.Payload)
		}
		if n != len(b) {
			t.Fatalf("parsed %d bytes of %d", n, len(b))
		}
	})
}
