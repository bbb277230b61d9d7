package sshio

import (
	"io"
	"sync"
)

// CopyBufferSize is the buffer of a bulk copy out of an SSH channel: large,
// so that a read takes all that has arrived. x/crypto/ssh counts a window
// adjust per read, and through nested jump hosts each adjust is a packet
// on every hop; a relay's next write wakes the process behind it once per
// read too.
const CopyBufferSize = 256 << 10

var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, CopyBufferSize)
	return &b
}}

// Copy copies src to dst, as io.Copy does, through a pooled buffer of
// CopyBufferSize bytes. Both are used as a plain Reader and Writer:
// io.CopyBuffer would otherwise hand the copy to a ReaderFrom or
// WriterTo (TCPConn's, a file's), which bring back 32 KiB copies.
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *bp)
}
