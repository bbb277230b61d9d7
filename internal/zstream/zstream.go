// Package zstream carries a byte stream compressed with zstd at low
// latency, for a console's display over a slow line: every read from the
// source is compressed and flushed at once as whole zstd blocks, so the
// far end can decode each message as soon as it arrives, while the
// window keeps earlier messages as the dictionary of later ones (a
// repeated glyph or tile costs a few bytes).
//
// The level is zstd's fastest: on a display stream it saves more than
// zlib's level 6 does at a fraction of its CPU (docs/perf.md, "the
// console's codec").
package zstream

import (
	"errors"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Window is how much of the stream's past each block may refer to; the
// reader refuses streams that ask for more than MaxWindow.
const (
	Window    = 1 << 20
	MaxWindow = 8 << 20
)

// bufSize is the largest read that becomes one message.
const bufSize = 64 << 10

// Writer compresses each Write as flushed blocks.
type Writer struct {
	enc *zstd.Encoder
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) (*Writer, error) {
	enc, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(Window), zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true))
	if err != nil {
		return nil, err
	}
	return &Writer{enc: enc}, nil
}

// Write compresses p and flushes it to the underlying writer.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.enc.Write(p)
	if err != nil {
		return n, err
	}
	return n, w.enc.Flush()
}

// Close ends the zstd frame; it does not close the underlying writer.
func (w *Writer) Close() error { return w.enc.Close() }

// Reader decompresses a stream a [Writer] made.
type Reader struct {
	dec *zstd.Decoder
}

// NewReader returns a Reader of r. Its reads return as soon as a block
// is complete: they never wait for more input than that block.
func NewReader(r io.Reader) (*Reader, error) {
	dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(MaxWindow))
	if err != nil {
		return nil, err
	}
	return &Reader{dec: dec}, nil
}

func (r *Reader) Read(p []byte) (int, error) { return r.dec.Read(p) }

// Close releases the decoder.
func (r *Reader) Close() { r.dec.Close() }

// Compress copies src to dst compressed, one message per read of src,
// until src ends (nil) or either fails.
func Compress(dst io.Writer, src io.Reader) (int64, error) {
	w, err := NewWriter(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(w, onlyReader{src}, make([]byte, bufSize))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// Decompress copies the stream a [Compress] made from src to dst until it
// ends (nil) or either fails.
func Decompress(dst io.Writer, src io.Reader) (int64, error) {
	r, err := NewReader(src)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n, err := io.CopyBuffer(dst, r, make([]byte, bufSize))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return n, errors.New("zstream: stream cut short")
	}
	return n, err
}

// onlyReader hides a WriterTo so that io.CopyBuffer reads in messages.
type onlyReader struct{ io.Reader }
