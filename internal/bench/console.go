package bench

// The console's codecs on a recorded display stream: each message the
// display sent (one read on the recorded socket) is compressed and flushed
// on the hypervisor's side and decompressed on the viewer's, with one
// compressor per connection as the viewer's channels have, alternating
// codecs round by round.
//
//	ParseRecording  reads a recording: per read, conn u8, dir u8 (0 viewer
//	                to display, 1 display to viewer), µs since start u32,
//	                length u32 (all big-endian), then the bytes
//	ConsoleCodec    one codec over every display message: bytes out,
//	                CPU of each side, and the time each message spends in
//	                compress, flush and decompress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// Message is one read on a recorded console connection.
type Message struct {
	Conn    int
	ToView  bool // display to viewer
	At      time.Duration
	Payload []byte
}

// maxMessage bounds one recorded read (the recorder reads 64 KiB).
const maxMessage = 1 << 20

// ParseRecording reads a console recording.
func ParseRecording(b []byte) ([]Message, error) {
	var ms []Message
	for len(b) > 0 {
		if len(b) < 10 {
			return nil, errors.New("recording: truncated header")
		}
		n := binary.BigEndian.Uint32(b[6:])
		if b[1] > 1 || n > maxMessage || uint64(len(b)-10) < uint64(n) {
			return nil, errors.New("recording: bad record")
		}
		ms = append(ms, Message{Conn: int(b[0]), ToView: b[1] == 1,
			At: time.Duration(binary.BigEndian.Uint32(b[2:])) * time.Microsecond, Payload: b[10 : 10+n]})
		b = b[10+n:]
	}
	return ms, nil
}

// Codec makes one side of a compressed stream: a writer that compresses
// and flushes every Write, and a reader of what it wrote.
type Codec struct {
	Name   string
	Writer func(io.Writer) (io.WriteCloser, error)
	Reader func(io.Reader) (io.Reader, error)
}

// CodecResult is one codec over a recording's display messages.
type CodecResult struct {
	In, Out     int64
	Compress    time.Duration // thread CPU on the display's side
	Decompress  time.Duration // thread CPU on the viewer's side
	Delays      []time.Duration
	MedianDelay time.Duration
	P99Delay    time.Duration
	DelayPerKiB time.Duration
}

// ConsoleCodec runs c over the display-to-viewer messages of ms, each
// compressed, flushed and decompressed before the next, as a console
// that waits on each update. The calling goroutine is locked to its
// thread so that its CPU clock measures the codec alone.
func ConsoleCodec(c Codec, ms []Message) (CodecResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	type side struct {
		wire bytes.Buffer
		w    io.WriteCloser
		r    io.Reader
	}
	sides := map[int]*side{}
	var res CodecResult
	out := make([]byte, maxMessage)
	for _, m := range ms {
		if !m.ToView || len(m.Payload) == 0 {
			continue
		}
		s := sides[m.Conn]
		if s == nil {
			s = &side{}
			w, err := c.Writer(&s.wire)
			if err != nil {
				return res, err
			}
			s.w = w
			sides[m.Conn] = s
		}
		start := time.Now()
		c0 := threadCPU()
		if _, err := s.w.Write(m.Payload); err != nil {
			return res, err
		}
		c1 := threadCPU()
		res.Out += int64(s.wire.Len())
		if s.r == nil {
			// A plain reader: given a *bytes.Buffer, zstd would take its
			// contents as a whole frame.
			r, err := c.Reader(struct{ io.Reader }{&s.wire})
			if err != nil {
				return res, err
			}
			s.r = r
		}
		if n, err := io.ReadFull(s.r, out[:len(m.Payload)]); err != nil {
			return res, fmt.Errorf("%s: message of %d bytes: read %d: %w", c.Name, len(m.Payload), n, err)
		}
		c2 := threadCPU()
		res.Delays = append(res.Delays, time.Since(start))
		if !bytes.Equal(out[:len(m.Payload)], m.Payload) {
			return res, errors.New(c.Name + ": round trip changed a message")
		}
		res.In += int64(len(m.Payload))
		res.Compress += c1 - c0
		res.Decompress += c2 - c1
	}
	for _, s := range sides {
		s.w.Close()
	}
	if len(res.Delays) > 0 {
		d := slices.Clone(res.Delays)
		slices.Sort(d)
		res.MedianDelay = d[len(d)/2]
		res.P99Delay = d[len(d)*99/100]
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		res.DelayPerKiB = sum * 1024 / time.Duration(max(res.In, 1))
	}
	return res, nil
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
