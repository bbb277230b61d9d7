package mux

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The byte strings are PROTOCOL.mux's layouts written out by hand (as
// mux.c sends them: flags are uint32), with the length prefix.
func TestCodecGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  Message
		wire string
	}{
		{"hello", &Hello{Version: 4}, "00000008 00000001 00000004"},
		{"hello with extension", &Hello{Version: 4, Extensions: []Extension{{"x", "yz"}}},
			"00000013 00000001 00000004 00000001 78 00000002 797a"},
		{"alive check", &Request{Kind: MsgAliveCheck, ID: 7}, "00000008 10000004 00000007"},
		{"alive", &Alive{ID: 7, PID: 0x1234}, "0000000c 80000005 00000007 00001234"},
		{"terminate", &Request{Kind: MsgTerminate, ID: 1}, "00000008 10000005 00000001"},
		{"stop listening", &Request{Kind: MsgStopListening, ID: 2}, "00000008 10000009 00000002"},
		{"ok", &Request{Kind: MsgOK, ID: 3}, "00000008 80000001 00000003"},
		{"new session", &NewSession{ID: 1, TTY: true, Agent: true, EscapeChar: '~', Term: "xterm", Command: "ls", Env: []string{"A=b"}},
			"00000036 10000002 00000001 00000000 00000001 00000000 00000001 00000000 0000007e" +
				" 00000005 787465726d 00000002 6c73 00000003 413d62"},
		{"stdio forward", &StdioForward{ID: 5, Host: "vm1", Port: 22},
			"00000017 10000008 00000005 00000000 00000003 766d31 00000016"},
		{"open local forward", &Forward{ID: 9, Kind: FwdLocal, ListenHost: "", ListenPort: 8080, ConnectHost: "h", ConnectPort: 80},
			"0000001d 10000006 00000009 00000001 00000000 00001f90 00000001 68 00000050"},
		{"close forward to a path", &Forward{Close: true, ID: 1, Kind: FwdRemote, ListenHost: "/s", ListenPort: PortStreamLocal, ConnectHost: "/t", ConnectPort: PortStreamLocal},
			"00000020 10000007 00000001 00000002 00000002 2f73 fffffffe 00000002 2f74 fffffffe"},
		{"failure", &Refusal{ID: 4, Reason: "no"}, "0000000e 80000003 00000004 00000002 6e6f"},
		{"permission denied", &Refusal{Denied: true, ID: 4, Reason: ""}, "0000000c 80000002 00000004 00000000"},
		{"session opened", &SessionOpened{ID: 1, Session: 2}, "0000000c 80000006 00000001 00000002"},
		{"exit message", &ExitMessage{Session: 2, Status: 3}, "0000000c 80000004 00000002 00000003"},
		{"remote port", &RemotePort{ID: 1, Port: 40000}, "0000000c 80000007 00000001 00009c40"},
		{"tty alloc fail", &TTYAllocFail{Session: 2}, "00000008 80000008 00000002"},
		{"exit signal (ours)", &ExitSignal{Session: 2, Signal: "TERM", CoreDumped: true, Message: ""},
			"00000018 80004a02 00000002 00000004 5445524d 00000001 00000000"},
		{"disconnected (ours)", &Disconnected{Session: 2}, "00000008 80004a03 00000002"},
		{"keepalive (ours)", &Request{Kind: MsgKeepAlive, ID: 5}, "00000008 10004a02 00000005"},
		{"connection lost (ours)", &ConnectionLost{Reason: "gone"}, "0000000c 80004a04 00000004 676f6e65"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tt.wire)
			var buf bytes.Buffer
			if err := WritePacket(&buf, tt.msg); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("encode:\n got %x\nwant %x", buf.Bytes(), want)
			}
			body, err := ReadPacket(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.msg) {
				t.Fatalf("decode: got %#v, want %#v", got, tt.msg)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, wire string
		unknown    bool
	}{
		{"empty", "", false},
		{"truncated type", "0000", false},
		{"unknown type", "12345678 00000009", true},
		{"truncated id", "10000004 0000", false},
		{"string past end", "80000003 00000001 000000ff 41", false},
		{"connection lost without reason", "80004a04", false},
		{"session without command", "10000002 00000001 00000000 00000000 00000000 00000000 00000000 ffffffff 00000000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode(unhex(t, tt.wire))
			var pe *ProtocolError
			var ue *unknownTypeError
			switch {
			case tt.unknown && !errors.As(err, &ue):
				t.Fatalf("got %v, want an unknown-type error", err)
			case !tt.unknown && !errors.As(err, &pe):
				t.Fatalf("got %v, want *ProtocolError", err)
			}
		})
	}
	if _, err := ReadPacket(bytes.NewReader(unhex(t, "7fffffff"))); err == nil {
		t.Fatal("a 2 GiB length was accepted")
	}
}

func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.hex")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(unhex(f, string(b)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Decode(body)
		if err != nil {
			return
		}
		again, err := Decode(Encode(m))
		if err != nil {
			t.Fatalf("re-decode of %#v: %v", m, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip: %#v != %#v", again, m)
		}
	})
}
