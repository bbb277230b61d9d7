package engine

import (
	"bytes"
	"errors"
	"iter"
	"slices"

	"github.com/klauspost/compress/flate"
)

// Compression (RFC 4253 6.2, OpenSSH PROTOCOL 2.1): one zlib stream per
// direction, each packet's payload ending in a flush so the peer can
// inflate it whole; zlib@openssh.com starts only once the user is
// authenticated.

// maxInflated bounds one packet's decompressed payload, as OpenSSH bounds
// its packet buffer: a zip bomb ends the connection, not the memory.
const maxInflated = maxPacket

var errInflatedTooLarge = errors.New("ssh: decompressed packet too large")

// compressions is what KEXINIT offers: the configured list (what we
// implement of it), else zlib@openssh.com and zlib before none when
// compression is on. A server leaves zlib out, as sshd does: it would
// have us inflate what nobody authenticated sent.
func (t *transport) compressions() []string {
	if l := t.cfg.algorithms.Compressions; len(l) > 0 {
		return slices.DeleteFunc(slices.Clone(l), func(c string) bool {
			return c != "none" && c != "zlib" && c != "zlib@openssh.com"
		})
	}
	switch {
	case !t.cfg.compression:
		return []string{"none"}
	case t.cfg.isServer:
		return []string{"zlib@openssh.com", "none"}
	}
	return []string{"zlib@openssh.com", "zlib", "none"}
}

// deflater compresses one direction's payloads: a zlib stream (RFC 1950)
// that is never closed, so it has a header but no checksum to keep.
type deflater struct {
	fw  *flate.Writer
	out bytes.Buffer
}

// deflateLevel is klauspost/compress's level 6: 0-9% more bytes than
// zlib 6 (OpenSSH's) at 0.13-0.44x its CPU, where the standard library's
// level 6 matches zlib's bytes at 1-1.5x its CPU (docs/perf.md).
const deflateLevel = 6

func newDeflater() *deflater {
	d := &deflater{}
	// RFC 1950's header: deflate, a 32 KiB window, the default level.
	d.out.Write([]byte{0x78, 0x9c})
	d.fw, _ = flate.NewWriter(&d.out, deflateLevel)
	return d
}

// compress returns p compressed and flushed (a sync flush, which
// OpenSSH's inflate takes as it takes its own partial flush); the slice
// is valid until the next call.
func (d *deflater) compress(p []byte) ([]byte, error) {
	if _, err := d.fw.Write(p); err != nil {
		return nil, err
	}
	if err := d.fw.Flush(); err != nil {
		return nil, err
	}
	out := d.out.Bytes()
	d.out.Reset()
	return out, nil
}

// inflater decompresses one direction's payloads. A decoder pulls its
// input, and a packet's worth is pushed, so the decoder runs as a
// coroutine (iter.Pull) that yields back whenever it wants more input
// than the packet had: by then, the sender having flushed, everything the
// packet carries has come out.
type inflater struct {
	in, out []byte
	err     error
	next    func() (struct{}, bool)
	stop    func()
}

func newInflater() *inflater {
	f := &inflater{}
	f.next, f.stop = iter.Pull(f.run)
	return f
}

var errInflaterStopped = errors.New("ssh: decompressor stopped")

// inflateSource is the coroutine's view of the pushed input.
type inflateSource struct {
	f     *inflater
	yield func(struct{}) bool
}

func (s *inflateSource) wait() error {
	for len(s.f.in) == 0 {
		if !s.yield(struct{}{}) {
			return errInflaterStopped
		}
	}
	return nil
}

func (s *inflateSource) ReadByte() (byte, error) {
	if err := s.wait(); err != nil {
		return 0, err
	}
	c := s.f.in[0]
	s.f.in = s.f.in[1:]
	return c, nil
}

func (s *inflateSource) Read(p []byte) (int, error) {
	if err := s.wait(); err != nil {
		return 0, err
	}
	n := copy(p, s.f.in)
	s.f.in = s.f.in[n:]
	return n, nil
}

func (f *inflater) run(yield func(struct{}) bool) {
	s := &inflateState{f: f, src: &inflateSource{f: f, yield: yield}}
	f.err = s.run()
}

// decompress inflates one packet's payload; the result is valid until
// the next call.
func (f *inflater) decompress(p []byte) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.in, f.out = p, f.out[:0]
	if _, ok := f.next(); !ok {
		if f.err == nil {
			f.err = errInflaterStopped
		}
		return nil, f.err
	}
	return f.out, nil
}

func (f *inflater) close() { f.stop() }
