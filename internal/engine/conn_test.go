package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// authedPair is a client and server connection, past authentication.
func authedPair(t testing.TB) (sshwire.Conn, sshwire.ServerConn) {
	t.Helper()
	r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{passwords("pw")}}, passwordServer("pw"))
	if r.cerr != nil || r.serr != nil {
		t.Fatalf("client %v, server %v", r.cerr, r.serr)
	}
	return r.client, r.server
}

// serve runs a small server: sessions run commands of a toy shell,
// direct-tcpip dials loopback.
func serve(t testing.TB, s sshwire.ServerConn) {
	go sshwire.DiscardRequests(s.GlobalRequests())
	for nc := range s.HandleChannelOpen("") {
		switch nc.ChannelType() {
		case "session":
			ch, reqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go session(ch, reqs)
		case "direct-tcpip":
			c := newCursor(nc.ExtraData())
			host, port := c.str(), c.u32()
			tc, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
			if err != nil {
				nc.Reject(sshwire.ConnectionFailed, err.Error())
				continue
			}
			ch, reqs, err := nc.Accept()
			if err != nil {
				tc.Close()
				continue
			}
			go sshwire.DiscardRequests(reqs)
			go func() { io.Copy(tc, ch); tc.(*net.TCPConn).CloseWrite() }()
			go func() { io.Copy(ch, tc); ch.Close(); tc.Close() }()
		default:
			nc.Reject(sshwire.UnknownChannelType, "no "+nc.ChannelType())
		}
	}
}

func session(ch sshwire.Channel, reqs <-chan *sshwire.Request) {
	env := map[string]string{}
	signals := make(chan string, 1)
	for r := range reqs {
		c := newCursor(r.Payload)
		switch r.Type {
		case "env":
			k, v := c.str(), c.str()
			env[k] = v
			r.Reply(true, nil)
		case "pty-req":
			env["TERM"] = c.str()
			cols, rows := c.u32(), c.u32()
			env["SIZE"] = fmt.Sprintf("%dx%d", cols, rows)
			r.Reply(c.ok, nil)
		case "signal":
			select {
			case signals <- c.str():
			default:
			}
		case "exec":
			r.Reply(true, nil)
			go run(ch, c.str(), env, signals)
		default:
			r.Reply(false, nil)
		}
	}
}

func run(ch sshwire.Channel, cmd string, env map[string]string, signals chan string) {
	verb, arg, _ := strings.Cut(cmd, " ")
	status := 0
	switch verb {
	case "echo":
		fmt.Fprintln(ch, arg)
	case "err":
		fmt.Fprintln(ch.Stderr(), arg)
	case "printenv":
		fmt.Fprintln(ch, env[arg])
	case "exit":
		status, _ = strconv.Atoi(arg)
	case "cat":
		io.Copy(ch, ch)
	case "sha256": // hashes its input, for bulk transfers
		h := sha256.New()
		io.Copy(h, ch)
		fmt.Fprintf(ch, "%x\n", h.Sum(nil))
	case "wait-signal":
		sig := <-signals
		ch.CloseWrite()
		b := addStr(nil, sig)
		b = addBool(b, false)
		b = addStr(b, "killed")
		b = addStr(b, "")
		ch.SendRequest("exit-signal", false, b)
		ch.Close()
		return
	}
	ch.CloseWrite()
	ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(status)))
	ch.Close()
}

func TestSession(t *testing.T) {
	t.Parallel()
	client, server := authedPair(t)
	go serve(t, server)
	ctx := context.Background()
	t.Run("exec", func(t *testing.T) {
		s, err := sshwire.NewSession(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Output("echo hi")
		if err != nil || string(out) != "hi\n" {
			t.Fatalf("output %q, %v", out, err)
		}
	})
	t.Run("exit-status", func(t *testing.T) {
		s, err := sshwire.NewSession(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Run("exit 3")
		var ee *sshwire.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
			t.Fatalf("run: %v", err)
		}
	})
	t.Run("stderr", func(t *testing.T) {
		s, err := sshwire.NewSession(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		s.Stdout, s.Stderr = &stdout, &stderr
		if err := s.Run("err oops"); err != nil {
			t.Fatal(err)
		}
		if stdout.String() != "" || stderr.String() != "oops\n" {
			t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
		}
	})
	t.Run("env and pty", func(t *testing.T) {
		for _, tc := range []struct{ cmd, want string }{{"printenv FOO", "bar\n"}, {"printenv TERM", "xterm\n"}, {"printenv SIZE", "80x24\n"}} {
			s, err := sshwire.NewSession(ctx, client)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Setenv("FOO", "bar"); err != nil {
				t.Fatal(err)
			}
			if err := s.RequestPty("xterm", 24, 80, sshwire.TerminalModes{53: 1}); err != nil {
				t.Fatal(err)
			}
			if err := s.Setenv("BAD", "x"); err != nil {
				t.Fatal(err)
			}
			out, err := s.Output(tc.cmd)
			if err != nil || string(out) != tc.want {
				t.Errorf("%s: %q, %v", tc.cmd, out, err)
			}
		}
	})
	t.Run("signal", func(t *testing.T) {
		s, err := sshwire.NewSession(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start("wait-signal"); err != nil {
			t.Fatal(err)
		}
		if err := s.Signal(sshwire.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err = s.Wait()
		var ee *sshwire.ExitError
		if !errors.As(err, &ee) || ee.Signal() != "TERM" || ee.ExitStatus() != 128+15 {
			t.Fatalf("wait: %v", err)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		s, err := sshwire.NewSession(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		s.Stdin = strings.NewReader("through and back\n")
		out, err := s.Output("cat")
		if err != nil || string(out) != "through and back\n" {
			t.Fatalf("%q, %v", out, err)
		}
	})
}

func TestDirectTCPIP(t *testing.T) {
	t.Parallel()
	client, server := authedPair(t)
	go serve(t, server)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	c, err := sshwire.Dial(context.Background(), client, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte("0123456789"), 10000)
	go func() {
		c.Write(msg)
		c.(*sshwire.ChannelConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echoed %d bytes, %v", len(got), err)
	}
	// A refusal is the seam's OpenChannelError.
	_, err = sshwire.Dial(context.Background(), client, "tcp", "127.0.0.1:1")
	var oe *sshwire.OpenChannelError
	if !errors.As(err, &oe) || oe.Reason != sshwire.ConnectionFailed {
		t.Fatalf("dial to a closed port: %v", err)
	}
}

// waitWindowSpent waits until a writer has spent the whole window ch's
// peer granted.
func waitWindowSpent(t testing.TB, ch *channel) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ch.mu.Lock()
		spent := ch.swin == 0
		ch.mu.Unlock()
		if spent {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("writer never spent the window")
		}
		time.Sleep(time.Millisecond)
	}
}

// rawChannels opens a channel from our client to the server side's
// handler and returns both ends.
func rawChannels(t testing.TB, kind string) (sshwire.Conn, sshwire.Channel, sshwire.Channel) {
	t.Helper()
	client, server := authedPair(t)
	go sshwire.DiscardRequests(server.GlobalRequests())
	got := make(chan sshwire.Channel, 1)
	go func() {
		for nc := range server.HandleChannelOpen("") {
			ch, reqs, err := nc.Accept()
			if err != nil {
				t.Error(err)
				continue
			}
			go sshwire.DiscardRequests(reqs)
			got <- ch
		}
	}()
	cch, reqs, err := client.OpenChannel(context.Background(), kind, nil)
	if err != nil {
		t.Fatal(err)
	}
	go sshwire.DiscardRequests(reqs)
	return client, cch, <-got
}

func TestWindowBlocksWriter(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "test")
	msg := make([]byte, initialWindow+initialWindow/2)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := cch.Write(msg)
		wrote <- err
	}()
	waitWindowSpent(t, cch.(*channel))
	select {
	case err := <-wrote:
		t.Fatalf("write past the peer's window returned (%v) before a window adjust", err)
	case <-time.After(50 * time.Millisecond):
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(sch, got); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("data changed on the way")
	}
	// The receiving side never holds more than it granted.
	s := sch.(*channel)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cap(s.stdout.b) > 2*initialWindow {
		t.Errorf("receive buffer grew to %d", cap(s.stdout.b))
	}
}

// TestWriteCorksItsBurst: a write of more than a packet corks the socket
// below while it sends (sshio.Cork), and waits for window uncorked: the
// kernel holds a corked segment up to 200 ms. One packet is not corked.
func TestWriteCorksItsBurst(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "test")
	c := cch.(*channel)
	mt := c.conn.pc.(*memTransport)
	if _, err := cch.Write(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(sch, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if n := mt.corks.Load(); n != 0 {
		t.Errorf("a write of one packet corked the socket %d times", n)
	}
	msg := make([]byte, initialWindow+initialWindow/2)
	wrote := make(chan error, 1)
	go func() {
		_, err := cch.Write(msg)
		wrote <- err
	}()
	waitWindowSpent(t, c)
	time.Sleep(50 * time.Millisecond) // the writer is waiting for window by now
	if mt.corked.Load() {
		t.Errorf("the writer waits for window with the socket corked")
	}
	if mt.corks.Load() == 0 {
		t.Errorf("a write of %d packets never corked the socket", len(msg)/int(c.maxPacket))
	}
	if _, err := io.ReadFull(sch, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if mt.corked.Load() {
		t.Errorf("the write returned with the socket corked")
	}
}

func TestBulk100MB(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("100 MB transfer")
	}
	client, server := authedPair(t)
	go serve(t, server)
	s, err := sshwire.NewSession(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	const size = 100 << 20
	src := io.LimitReader(&pattern{}, size)
	h := sha256.New()
	s.Stdin = io.TeeReader(src, h)
	out, err := s.Output("sha256")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x\n", h.Sum(nil)); string(out) != want {
		t.Fatalf("remote hash %q, sent %q", out, want)
	}
}

// pattern is an endless stream of varying bytes.
type pattern struct{ n uint32 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		p.n = p.n*1664525 + 1013904223
		b[i] = byte(p.n >> 24)
	}
	return len(b), nil
}

func TestReadPacketBoundaries(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "tun@openssh.com")
	sizes := []int{1, 1500, 60, 9000, 32768, 14}
	go func() {
		for i, n := range sizes {
			sch.Write(bytes.Repeat([]byte{byte(i)}, n))
		}
		sch.Close()
	}()
	pr := cch.(sshwire.PacketReader)
	// Let them all arrive first, so a reader that joined them would.
	deadline := time.Now().Add(10 * time.Second)
	for cch.(*channel).buffered() < 1+1500+60+9000+32768+14 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for i, n := range sizes {
		p, err := pr.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != n || p[0] != byte(i) || p[n-1] != byte(i) {
			t.Fatalf("packet %d: %d bytes of %d, want %d of %d", i, len(p), p[0], n, i)
		}
	}
	if _, err := pr.ReadPacket(); err != io.EOF {
		t.Fatalf("after the last packet: %v", err)
	}
}

// TestSinkPackets: a sink takes the messages already queued, then every
// later one in the reader, in order and whole; the window is given back as
// it takes them (more than a window's worth crosses with nobody calling
// ReadPacket), and ReadPacket reports the end.
func TestSinkPackets(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "tun@openssh.com")
	const before, total = 3, 200 // 200 packets of 32 KiB: 3 windows
	packet := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 32<<10-i) }
	for i := range before {
		if err := sch.(sshwire.PacketWriter).WritePacket(packet(i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for cch.(*channel).buffered() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	var mu sync.Mutex
	var got []int
	cch.(sshwire.PacketSink).SinkPackets(func(p []byte) error {
		mu.Lock()
		defer mu.Unlock()
		i := len(got)
		if want := packet(i); !bytes.Equal(p, want) {
			t.Errorf("packet %d: %d bytes starting %d, want %d of %d", i, len(p), p[0], len(want), byte(i))
		}
		got = append(got, i)
		return nil
	})
	go func() {
		for i := before; i < total; i++ {
			if err := sch.(sshwire.PacketWriter).WritePacket(packet(i)); err != nil {
				t.Error(err)
				return
			}
		}
		sch.Close()
	}()
	if _, err := cch.(sshwire.PacketReader).ReadPacket(); err != io.EOF {
		t.Fatalf("ReadPacket with a sink: %v, want io.EOF at the end", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != total {
		t.Errorf("the sink took %d packets, want %d", len(got), total)
	}
}

// TestSinkPacketsError: the sink's first error is what ReadPacket
// returns, and the sink sees nothing after it.
func TestSinkPacketsError(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "tun@openssh.com")
	bad := errors.New("bad packet")
	var calls atomic.Int32
	cch.(sshwire.PacketSink).SinkPackets(func(p []byte) error {
		if calls.Add(1) == 3 {
			return bad
		}
		return nil
	})
	for range 10 {
		if err := sch.(sshwire.PacketWriter).WritePacket([]byte("packet")); err != nil {
			t.Fatal(err)
		}
	}
	// Answered once the reader has taken all ten: messages are handled in
	// order.
	if _, err := sch.SendRequest("ping", true, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cch.(sshwire.PacketReader).ReadPacket(); err != bad {
		t.Fatalf("ReadPacket after the sink failed: %v, want its error", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("the sink was called %d times, want 3 (none after its error)", n)
	}
}

func (ch *channel) buffered() int {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.stdout.len()
}

// TestCloseOrdering: data, then EOF, then a request, then CLOSE arrive
// in that order and each is seen.
func TestCloseOrdering(t *testing.T) {
	t.Parallel()
	client, server := authedPair(t)
	go sshwire.DiscardRequests(server.GlobalRequests())
	go func() {
		for nc := range server.HandleChannelOpen("") {
			ch, reqs, _ := nc.Accept()
			go sshwire.DiscardRequests(reqs)
			ch.Write([]byte("last words"))
			ch.CloseWrite()
			ch.SendRequest("exit-status", false, []byte{0, 0, 0, 7})
			ch.Close()
		}
	}()
	ch, reqs, err := client.OpenChannel(context.Background(), "session", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := <-reqs
	if !ok || r.Type != "exit-status" || !bytes.Equal(r.Payload, []byte{0, 0, 0, 7}) {
		t.Fatalf("request %+v", r)
	}
	if _, ok := <-reqs; ok {
		t.Fatal("requests not closed after CLOSE")
	}
	got, err := io.ReadAll(ch)
	if err != nil || string(got) != "last words" {
		t.Fatalf("read %q, %v", got, err)
	}
	if _, err := ch.Write([]byte("x")); err != io.EOF {
		t.Fatalf("write after the peer's close: %v", err)
	}
	if _, err := ch.SendRequest("x", true, nil); err != io.EOF {
		t.Fatalf("request after the peer's close: %v", err)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	c := client.(*conn)
	c.mu.Lock()
	n := len(c.chans)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d channels left after the close handshake", n)
	}
}

// TestRequestReplyOrder answers requests in reverse order; each sender
// must still get its own answer.
func TestRequestReplyOrder(t *testing.T) {
	t.Parallel()
	client, server := authedPair(t)
	const n = 5
	t.Run("global", func(t *testing.T) {
		in := server.GlobalRequests()
		var wg sync.WaitGroup
		got := make([]string, n)
		var held []*sshwire.Request
		for i := range n {
			wg.Go(func() {
				ok, reply, err := client.SendRequest(context.Background(), fmt.Sprint("r", i), true, nil)
				if err != nil || !ok {
					t.Errorf("r%d: %v %v", i, ok, err)
				}
				got[i] = string(reply)
			})
			r := <-in // serialises the sends
			held = append(held, r)
		}
		for i := n - 1; i >= 0; i-- {
			held[i].Reply(true, []byte(held[i].Type))
		}
		wg.Wait()
		for i := range n {
			if got[i] != fmt.Sprint("r", i) {
				t.Errorf("r%d got the reply %q", i, got[i])
			}
		}
	})
	t.Run("channel", func(t *testing.T) {
		sreqs := make(chan (<-chan *sshwire.Request), 1)
		go func() {
			for nc := range server.HandleChannelOpen("") {
				_, reqs, _ := nc.Accept()
				sreqs <- reqs
			}
		}()
		ch, creqs, err := client.OpenChannel(context.Background(), "session", nil)
		if err != nil {
			t.Fatal(err)
		}
		go sshwire.DiscardRequests(creqs)
		in := <-sreqs
		var wg sync.WaitGroup
		got := make([]bool, n)
		var held []*sshwire.Request
		for i := range n {
			wg.Go(func() {
				ok, err := ch.SendRequest(fmt.Sprint("r", i), true, nil)
				if err != nil {
					t.Error(err)
				}
				got[i] = ok
			})
			held = append(held, <-in)
		}
		for i := n - 1; i >= 0; i-- {
			held[i].Reply(i%2 == 0, nil)
		}
		wg.Wait()
		for i := range n {
			if got[i] != (i%2 == 0) {
				t.Errorf("r%d got %v", i, got[i])
			}
		}
	})
}

func TestClientRefusesUnaskedChannels(t *testing.T) {
	t.Parallel()
	client, server := authedPair(t)
	fwd := client.HandleChannelOpen("forwarded-tcpip")
	if client.HandleChannelOpen("forwarded-tcpip") != nil {
		t.Error("a type handed out twice")
	}
	_, _, err := server.OpenChannel(context.Background(), "x11", nil)
	var oe *sshwire.OpenChannelError
	if !errors.As(err, &oe) || oe.Reason != sshwire.UnknownChannelType {
		t.Fatalf("x11 open: %v", err)
	}
	go func() {
		nc := <-fwd
		nc.Reject(sshwire.Prohibited, "not today")
	}()
	_, _, err = server.OpenChannel(context.Background(), "forwarded-tcpip", nil)
	if !errors.As(err, &oe) || oe.Reason != sshwire.Prohibited || oe.Message != "not today" {
		t.Fatalf("forwarded-tcpip open: %v", err)
	}
	// keepalive@openssh.com is answered (failure, as OpenSSH) without
	// the server's caller seeing it.
	ok, _, err := client.SendRequest(context.Background(), "keepalive@openssh.com", true, nil)
	if ok || err != nil {
		t.Fatalf("keepalive: %v %v", ok, err)
	}
	// A client-side request nobody reads is refused.
	ok, _, err = server.SendRequest(context.Background(), "hostkeys-prove-00@openssh.com", true, nil)
	if ok || err != nil {
		t.Fatalf("unread global request: %v %v", ok, err)
	}
}

// rawPeer connects our client's connection layer to a hand-driven peer.
func rawPeer(t *testing.T) (*conn, *memTransport) {
	ct, st := memPair()
	c := startConn(ct, &connMeta{pc: ct, user: "me"}, false)
	t.Cleanup(func() { c.Close() })
	return c, st
}

func TestPeerMisbehaviour(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		do   func(st *memTransport, remote uint32)
		want string
	}{
		{"window overflow", func(st *memTransport, remote uint32) {
			chunk := make([]byte, ourMaxPacket)
			for sent := 0; sent <= initialWindow; sent += len(chunk) {
				st.writePacket(append(appendDataHeader(nil, remote, false, len(chunk)), chunk...))
			}
		}, "window"},
		{"unknown channel", func(st *memTransport, remote uint32) {
			st.writePacket(recipientMsg(msgChannelEOF, remote+100))
		}, "unknown channel"},
		{"oversized packet", func(st *memTransport, remote uint32) {
			big := make([]byte, ourMaxPacket+1)
			st.writePacket(append(appendDataHeader(nil, remote, false, len(big)), big...))
		}, "maximum packet"},
		{"reply without request", func(st *memTransport, remote uint32) {
			st.writePacket(recipientMsg(msgChannelSuccess, remote))
		}, "without a request"},
		{"window past 2^32", func(st *memTransport, remote uint32) {
			st.writePacket(addU32(addU32([]byte{msgChannelWindowAdjust}, remote), 0xffffffff))
		}, "2^32"},
		{"request flood", func(st *memTransport, remote uint32) {
			for range maxUnanswered + requestQueue + 2 {
				st.writePacket((&channelRequest{recipient: remote, name: "keepalive@openssh.com", wantReply: true}).marshal())
				st.writePacket((&channelRequest{recipient: remote, name: "x", wantReply: true}).marshal())
			}
		}, "unanswered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, st := rawPeer(t)
			opened := make(chan error, 1)
			go func() {
				_, reqs, err := c.OpenChannel(context.Background(), "session", nil)
				opened <- err
				if err != nil {
					return
				}
				if tc.name != "request flood" {
					go sshwire.DiscardRequests(reqs)
					return
				}
				for range reqs {
					// Taken and never answered.
				}
			}()
			p, _ := st.readPacket()
			open, ok := parseChannelOpen(p)
			if !ok {
				t.Fatal("no channel open")
			}
			st.writePacket((&openConfirm{recipient: open.sender, sender: 9, window: 1 << 20, maxPacket: 1 << 15}).marshal())
			if err := <-opened; err != nil {
				t.Fatal(err)
			}
			go func() { // drain what the client sends
				for {
					if _, err := st.readPacket(); err != nil {
						return
					}
				}
			}()
			tc.do(st, open.sender)
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("connection ended with %v, want %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("connection survived")
			}
		})
	}
}

// TestCloseUnblocks: closing the connection ends a writer held by the
// window, a reader, a request waiting for its reply and Wait, and leaves
// no goroutine behind.
func TestCloseUnblocks(t *testing.T) {
	before := runtime.NumGoroutine()
	client, server := authedPair(t)
	hold := func(in <-chan *sshwire.Request) {
		for range in {
			// Taken and never answered.
		}
	}
	go hold(server.GlobalRequests())
	go func() {
		for nc := range server.HandleChannelOpen("") {
			_, reqs, _ := nc.Accept() // never read: the writer fills the window
			go hold(reqs)
		}
	}()
	cch, creqs, err := client.OpenChannel(context.Background(), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	go sshwire.DiscardRequests(creqs)
	errs := make(chan error, 3)
	go func() {
		_, err := cch.Write(make([]byte, 2*initialWindow))
		errs <- err
	}()
	go func() {
		_, err := cch.Read(make([]byte, 10))
		errs <- err
	}()
	go func() {
		_, _, err := client.SendRequest(context.Background(), "never-answered", true, nil)
		errs <- err
	}()
	time.Sleep(20 * time.Millisecond) // let them block
	client.Close()
	for range 3 {
		select {
		case err := <-errs:
			if err == nil {
				t.Error("a blocked call returned no error after Close")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a blocked call survived Close")
		}
	}
	client.Wait()
	// The server side sees the connection end too.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestOpenCancelled: a context that ends before the confirmation leaves
// the channel to be closed when the confirmation comes.
func TestOpenCancelled(t *testing.T) {
	t.Parallel()
	c, st := rawPeer(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.OpenChannel(ctx, "session", nil)
		errc <- err
	}()
	p, _ := st.readPacket()
	open, ok := parseChannelOpen(p)
	if !ok {
		t.Fatal("no channel open")
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("open: %v", err)
	}
	st.writePacket((&openConfirm{recipient: open.sender, sender: 9, window: 1 << 20, maxPacket: 1 << 15}).marshal())
	p, _ = st.readPacket()
	if id, ok := parseRecipient(p); !ok || p[0] != msgChannelClose || id != 9 {
		t.Fatalf("after a late confirmation got message %v, want CLOSE of 9", p)
	}
}

// TestWritePacketWholeMessages: packets written past the peer's window
// wait for it instead of being cut at its end, as Write cuts them.
func TestWritePacketWholeMessages(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "tun@openssh.com")
	const size, count = 30000, 3 * initialWindow / 30000
	pw := cch.(sshwire.PacketWriter)
	if err := pw.WritePacket(make([]byte, ourMaxPacket+1)); err == nil {
		t.Error("a packet over the peer's maximum was sent")
	}
	done := make(chan error, 1)
	go func() {
		for i := range count {
			if err := pw.WritePacket(bytes.Repeat([]byte{byte(i)}, size)); err != nil {
				done <- err
				return
			}
		}
		done <- cch.Close()
	}()
	// Let the writer spend the whole window before anything is read.
	c := cch.(*channel)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		left := c.swin
		c.mu.Unlock()
		if left < size || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	pr := sch.(sshwire.PacketReader)
	for i := range count {
		p, err := pr.ReadPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if len(p) != size || p[0] != byte(i) || p[size-1] != byte(i) {
			t.Fatalf("packet %d: %d bytes starting with %d, want %d of %d", i, len(p), p[0], size, byte(i))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
