package sshwire

import (
	"io"
	"testing"
)

// sizedChannel is a channel that tells its message size.
type sizedChannel struct{ Channel }

func (sizedChannel) MaxMessage() int { return 32 << 10 }

// TestChannelConnHidesMessageSize: a channel tells its message size, and
// a ChannelConn over it does not pass it on, so writers cut what they
// copy into it a packet at a time (see MessageSizer).
func TestChannelConnHidesMessageSize(t *testing.T) {
	var ch Channel = sizedChannel{}
	if _, ok := ch.(MessageSizer); !ok {
		t.Fatal("the channel itself does not tell its message size")
	}
	var w io.Writer = &ChannelConn{Channel: ch}
	if _, ok := w.(MessageSizer); ok {
		t.Error("ChannelConn tells its channel's message size: what is copied into it goes whole again")
	}
}
