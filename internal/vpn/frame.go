package vpn

// Peer mode's framing, used only between two copies of jumpgate:
//
//	uint32  length (1 … max)
//	byte[length] packet or frame
//
// repeated. A writer gathers every packet the device has ready into one
// buffer and writes it at once, so a burst costs one channel write (and one
// SSH message) instead of one per packet as tun@openssh.com does.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// frameHeader is the length prefix of each framed packet.
const frameHeader = 4

// batchSize is how many bytes a [FrameWriter] gathers before it writes:
// large enough for many full-size packets, small enough to keep latency and
// the SSH window (2 MiB) in check.
const batchSize = 128 << 10

// FrameWriter frames packets onto a stream in batches.
type FrameWriter struct {
	w   io.Writer
	buf []byte
}

// NewFrameWriter returns a FrameWriter on w.
func NewFrameWriter(w io.Writer) *FrameWriter {
	return &FrameWriter{w: w, buf: make([]byte, 0, batchSize+frameHeader+MaxFrame)}
}

// WritePacket adds p to the batch, writing the batch first if p would
// not fit. Empty packets are dropped: the framing has no use for them.
func (f *FrameWriter) WritePacket(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if len(p) > MaxFrame {
		return fmt.Errorf("frame packet of %d bytes: %w", len(p), ErrPacketTooLong)
	}
	if len(f.buf)+frameHeader+len(p) > cap(f.buf) {
		if err := f.Flush(); err != nil {
			return err
		}
	}
	f.buf = binary.BigEndian.AppendUint32(f.buf, uint32(len(p)))
	f.buf = append(f.buf, p...)
	if len(f.buf) >= batchSize {
		return f.Flush()
	}
	return nil
}

// Flush writes the batch.
func (f *FrameWriter) Flush() error {
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.w.Write(f.buf)
	f.buf = f.buf[:0]
	return err
}

// FrameReader reads packets framed by a [FrameWriter].
type FrameReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewFrameReader reads frames of at most max bytes from r.
func NewFrameReader(r io.Reader, max int) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 256<<10), max: max, buf: make([]byte, max)}
}

// ReadPacket returns the next packet, valid until the next call. A length
// of 0 or above the maximum ends the stream with an error wrapping
// [ErrPacketTooLong] or [ErrBadFrame]; a stream that ends inside a frame
// gives [io.ErrUnexpectedEOF].
func (f *FrameReader) ReadPacket() ([]byte, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(f.r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	switch {
	case n == 0:
		return nil, fmt.Errorf("peer frame: %w: empty", ErrBadFrame)
	case n > uint32(f.max):
		return nil, fmt.Errorf("peer frame of %d bytes, limit %d: %w", n, f.max, ErrPacketTooLong)
	}
	p := f.buf[:n]
	if _, err := io.ReadFull(f.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("peer frame of %d bytes: %w", n, err)
	}
	return p, nil
}

// ErrBadFrame is wrapped by decoders for a malformed frame or packet.
var ErrBadFrame = errors.New("malformed frame")
