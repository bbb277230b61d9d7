package engine

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// The decoders must never panic, and what they accept must encode back
// to the same bytes.

func FuzzChannelOpen(f *testing.F) {
	f.Add((&channelOpen{kind: "direct-tcpip", sender: 3, window: 1 << 21, maxPacket: 1 << 15, extra: []byte("\x00\x00\x00\x01h")}).marshal())
	f.Add([]byte{msgChannelOpen, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, p []byte) {
		m, ok := parseChannelOpen(p)
		if ok && !bytes.Equal(m.marshal(), p) {
			t.Fatalf("round trip %x -> %x", p, m.marshal())
		}
	})
}

func FuzzChannelMessages(f *testing.F) {
	f.Add((&channelRequest{recipient: 1, name: "exec", wantReply: true, payload: []byte("\x00\x00\x00\x02ls")}).marshal())
	f.Add((&globalRequestMsg{name: "tcpip-forward", wantReply: true, payload: []byte("\x00\x00\x00\x00\x00\x00\x00\x16")}).marshal())
	f.Add((&openConfirm{recipient: 1, sender: 2, window: 3, maxPacket: 4}).marshal())
	f.Add((&openFailure{recipient: 1, reason: 2, message: "no"}).marshal())
	f.Add(append(appendDataHeader(nil, 1, true, 3), "abc"...))
	f.Add(append(appendDataHeader(nil, 1, false, 3), "abc"...))
	f.Add(recipientMsg(msgChannelClose, 7))
	f.Fuzz(func(t *testing.T, p []byte) {
		if m, ok := parseChannelRequest(p); ok && m.wantReply == (p[5+4+len(m.name)] == 1) && !bytes.Equal(m.marshal(), p) {
			t.Fatalf("channel request round trip %x -> %x", p, m.marshal())
		}
		if m, ok := parseGlobalRequest(p); ok && m.wantReply == (p[1+4+len(m.name)] == 1) && !bytes.Equal(m.marshal(), p) {
			t.Fatalf("global request round trip %x -> %x", p, m.marshal())
		}
		if m, ok := parseOpenConfirm(p); ok && len(p) == 17 && !bytes.Equal(m.marshal(), p) {
			t.Fatalf("confirm round trip %x", p)
		}
		parseOpenFailure(p)
		if m, ok := parseChannelData(p); ok {
			b := append(appendDataHeader(nil, m.recipient, m.ext, len(m.data)), m.data...)
			if (!m.ext || m.code == 1) && !bytes.Equal(b, p) {
				t.Fatalf("data round trip %x -> %x", p, b)
			}
		}
		parseChannelU32(p)
		parseRecipient(p)
		if len(p) > 0 && p[0] == layerMsgDisconnect {
			parseDisconnect(p)
		}
	})
}

func FuzzUserauth(f *testing.F) {
	f.Add((&userauthRequest{user: "me", service: serviceConnection, method: "publickey", hasSig: true, algo: "ssh-ed25519", key: []byte("k"), sig: []byte("s")}).marshal())
	f.Add((&userauthRequest{user: "me", service: serviceConnection, method: "password", password: []byte("pw")}).marshal())
	f.Add((&userauthRequest{user: "me", service: serviceConnection, method: "keyboard-interactive"}).marshal())
	f.Add((&userauthFailure{methods: []string{"publickey", "password"}, partial: true}).marshal())
	f.Add((&infoRequest{name: "n", instruction: "i", prompts: []string{"P: "}, echos: []bool{false}}).marshal())
	f.Add(infoResponseMsg([]string{"a", "b"}))
	f.Add(bannerMsg("hello\n"))
	f.Add(pkOKMsg("ssh-ed25519", []byte("k")))
	f.Fuzz(func(t *testing.T, p []byte) {
		if r, ok := parseUserauthRequest(p); ok && r.method != "password" {
			if b := r.marshal(); r.method != "none" && r.method != "publickey" && r.method != "keyboard-interactive" {
				_ = b
			} else if !bytes.Equal(b, p) && canonicalBools(p) {
				t.Fatalf("userauth request round trip %x -> %x", p, b)
			}
		}
		if f, ok := parseUserauthFailure(p); ok {
			g, ok := parseUserauthFailure(f.marshal())
			if !ok || g.partial != f.partial || !slices.Equal(g.methods, f.methods) {
				t.Fatalf("failure round trip %+v -> %+v", f, g)
			}
		}
		if q, ok := parseInfoRequest(p); ok {
			r, ok := parseInfoRequest(q.marshal())
			if !ok || !slices.Equal(r.prompts, q.prompts) || !slices.Equal(r.echos, q.echos) || r.name != q.name {
				t.Fatalf("info request round trip %+v -> %+v", q, r)
			}
		}
		if a, ok := parseInfoResponse(p); ok && !bytes.Equal(infoResponseMsg(a), p) {
			t.Fatalf("info response round trip %x", p)
		}
		parseBanner(p)
		parsePKOK(p)
		parseService(p, layerMsgServiceRequest)
	})
}

// canonicalBools reports whether every byte that could be a boolean is
// 0 or 1; other values decode as true and encode as 1.
func canonicalBools(p []byte) bool {
	c := newCursor(p[1:])
	c.str()
	c.str()
	if c.str() != "publickey" {
		return true
	}
	return c.ok && len(c.b) > 0 && c.b[0] <= 1
}

// FuzzServerAuth feeds a server's authentication arbitrary messages: it
// must end with an error or success, never panic or hang.
func FuzzServerAuth(f *testing.F) {
	f.Add(serviceMsg(layerMsgServiceRequest, serviceUserauth), (&userauthRequest{user: "me", service: serviceConnection, method: "password", password: []byte("pw")}).marshal())
	f.Add(serviceMsg(layerMsgServiceRequest, serviceUserauth), (&userauthRequest{user: "me", service: serviceConnection, method: "publickey", algo: "ssh-ed25519", key: []byte("k")}).marshal())
	f.Add(serviceMsg(layerMsgServiceRequest, serviceUserauth), (&userauthRequest{user: "me", service: serviceConnection, method: "keyboard-interactive"}).marshal())
	f.Fuzz(func(t *testing.T, first, second []byte) {
		ct, st := memPair()
		defer ct.close()
		cfg := &sshwire.ServerConfig{
			PasswordCallback: passwordServer("pw").PasswordCallback,
			KeyboardInteractiveCallback: func(meta sshwire.ConnMetadata, ask sshwire.KeyboardInteractiveChallenge) (*sshwire.Permissions, error) {
				_, err := ask("", "", []string{"q"}, []bool{false})
				return nil, err
			},
		}
		go func() {
			ct.writePacket(first)
			ct.writePacket(second)
			for {
				if _, err := ct.readPacket(); err != nil {
					return
				}
			}
		}()
		done := make(chan struct{})
		go func() {
			serverAuth(st, cfg, &connMeta{pc: st})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(50 * time.Millisecond):
			// Waiting for a third message is fine.
		}
	})
}

// FuzzConnDispatch feeds a connection's reader arbitrary messages after
// a channel is open: the connection may end, but must not panic.
func FuzzConnDispatch(f *testing.F) {
	f.Add(append(appendDataHeader(nil, 0, false, 2), "hi"...), recipientMsg(msgChannelEOF, 0), recipientMsg(msgChannelClose, 0))
	f.Add((&channelRequest{recipient: 0, name: "exit-status", payload: []byte{0, 0, 0, 1}}).marshal(), recipientMsg(msgChannelSuccess, 0), []byte{msgRequestSuccess})
	f.Add((&channelOpen{kind: "x11", sender: 1, window: 10, maxPacket: 10}).marshal(), addU32(addU32([]byte{msgChannelWindowAdjust}, 0), 5), (&openConfirm{}).marshal())
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		ct, st := memPair()
		conn := startConn(ct, &connMeta{pc: ct}, false)
		defer conn.Close()
		go func() {
			for {
				if _, err := st.readPacket(); err != nil {
					return
				}
			}
		}()
		go func() {
			st.writePacket((&openConfirm{recipient: 0, sender: 5, window: 100, maxPacket: 100}).marshal())
			for _, p := range [][]byte{a, b, c} {
				st.writePacket(p)
			}
		}()
		ch, reqs, err := conn.OpenChannel(context.Background(), "session", nil)
		if err != nil {
			return
		}
		go sshwire.DiscardRequests(reqs)
		go ch.Read(make([]byte, 10))
		time.Sleep(time.Millisecond)
	})
}

func BenchmarkChannelThroughput(b *testing.B) {
	for _, size := range []int{1 << 10, 32 << 10, 256 << 10} {
		b.Run(byteSize(size), func(b *testing.B) {
			_, cch, sch := rawChannels(b, "bench")
			go func() {
				buf := make([]byte, 64<<10)
				for {
					if _, err := sch.Read(buf); err != nil {
						return
					}
				}
			}()
			msg := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cch.Write(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	return strconv.Itoa(n>>10) + "KiB"
}
