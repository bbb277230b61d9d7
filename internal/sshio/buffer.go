package sshio

import "sync"

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

// GetCopyBuffer returns a pooled buffer of CopyBufferSize bytes; give it
// back with PutCopyBuffer.
func GetCopyBuffer() *[]byte { return copyBuffers.Get().(*[]byte) }

// PutCopyBuffer returns b to the pool.
func PutCopyBuffer(b *[]byte) { copyBuffers.Put(b) }
