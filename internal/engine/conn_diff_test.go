package engine

import (
	"bytes"
	"reflect"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestEncodingAgainstXCrypto encodes each message of these layers both
// ways, ours and x/crypto's Marshal on a struct laid out as RFC 4252 and
// 4254 say, and checks the bytes agree and x/crypto's Unmarshal reads ours.
func TestEncodingAgainstXCrypto(t *testing.T) {
	t.Parallel()
	type pubkeyReq struct {
		User, Service, Method string
		HasSig                bool
		Algo                  string
		Key, Sig              []byte
	}
	type passwordReq struct {
		User, Service, Method string
		Change                bool
		Password              string
	}
	type kiReq struct{ User, Service, Method, Lang, Submethods string }
	type failure struct {
		Methods []string
		Partial bool
	}
	type banner struct{ Message, Lang string }
	type pkOK struct {
		Algo string
		Key  []byte
	}
	type infoResp struct {
		N      uint32
		A1, A2 string
	}
	type open struct {
		Kind                      string
		Sender, Window, MaxPacket uint32
		Extra                     []byte `ssh:"rest"`
	}
	type confirm struct{ Recipient, Sender, Window, MaxPacket uint32 }
	type openFail struct {
		Recipient, Reason uint32
		Message, Lang     string
	}
	type global struct {
		Name      string
		WantReply bool
		Payload   []byte `ssh:"rest"`
	}
	type chanReq struct {
		Recipient uint32
		Name      string
		WantReply bool
		Payload   []byte `ssh:"rest"`
	}
	type data struct {
		Recipient uint32
		Data      []byte
	}
	type extData struct {
		Recipient, Code uint32
		Data            []byte
	}
	type adjust struct{ Recipient, N uint32 }
	type disconnect struct {
		Reason        uint32
		Message, Lang string
	}
	type service struct{ Name string }

	withType := func(n byte, v any) []byte { return append([]byte{n}, ssh.Marshal(v)...) }
	for _, tc := range []struct {
		name string
		ours []byte
		num  byte
		want any
	}{
		{"publickey query", (&userauthRequest{user: "u", service: serviceConnection, method: "publickey", algo: "ssh-ed25519", key: []byte("K")}).marshal(), 50, nil},
		{"publickey signed", (&userauthRequest{user: "u", service: serviceConnection, method: "publickey", hasSig: true, algo: "rsa-sha2-512", key: []byte("K"), sig: []byte("S")}).marshal(), 50,
			&pubkeyReq{"u", serviceConnection, "publickey", true, "rsa-sha2-512", []byte("K"), []byte("S")}},
		{"password", (&userauthRequest{user: "u", service: serviceConnection, method: "password", password: []byte("pw")}).marshal(), 50,
			&passwordReq{"u", serviceConnection, "password", false, "pw"}},
		{"keyboard-interactive", (&userauthRequest{user: "u", service: serviceConnection, method: "keyboard-interactive"}).marshal(), 50,
			&kiReq{"u", serviceConnection, "keyboard-interactive", "", ""}},
		{"failure", (&userauthFailure{methods: []string{"publickey", "password"}, partial: true}).marshal(), 51,
			&failure{[]string{"publickey", "password"}, true}},
		{"banner", bannerMsg("hi\n"), 53, &banner{"hi\n", ""}},
		{"pk ok", pkOKMsg("ssh-ed25519", []byte("K")), 60, &pkOK{"ssh-ed25519", []byte("K")}},
		{"info response", infoResponseMsg([]string{"a", "b"}), 61, &infoResp{2, "a", "b"}},
		{"service request", serviceMsg(layerMsgServiceRequest, serviceUserauth), 5, &service{serviceUserauth}},
		{"channel open", (&channelOpen{kind: "direct-tcpip", sender: 1, window: 2, maxPacket: 3, extra: []byte("xyz")}).marshal(), 90,
			&open{"direct-tcpip", 1, 2, 3, []byte("xyz")}},
		{"open confirmation", (&openConfirm{recipient: 1, sender: 2, window: 3, maxPacket: 4}).marshal(), 91, &confirm{1, 2, 3, 4}},
		{"open failure", (&openFailure{recipient: 1, reason: 2, message: "no"}).marshal(), 92, &openFail{1, 2, "no", ""}},
		{"global request", (&globalRequestMsg{name: "tcpip-forward", wantReply: true, payload: []byte("p")}).marshal(), 80,
			&global{"tcpip-forward", true, []byte("p")}},
		{"channel request", (&channelRequest{recipient: 7, name: "exec", wantReply: true, payload: []byte("p")}).marshal(), 98,
			&chanReq{7, "exec", true, []byte("p")}},
		{"data", append(appendDataHeader(nil, 7, false, 3), "abc"...), 94, &data{7, []byte("abc")}},
		{"extended data", append(appendDataHeader(nil, 7, true, 3), "abc"...), 95, &extData{7, 1, []byte("abc")}},
		{"window adjust", addU32(addU32([]byte{msgChannelWindowAdjust}, 7), 1<<20), 93, &adjust{7, 1 << 20}},
		{"close", recipientMsg(msgChannelClose, 7), 97, &struct{ Recipient uint32 }{7}},
		{"disconnect", disconnectMsg(2, "Too many authentication failures"), 1, &disconnect{2, "Too many authentication failures", ""}},
	} {
		if tc.want == nil {
			tc.want = &pubkeyReq{"u", serviceConnection, "publickey", false, "ssh-ed25519", []byte("K"), nil}
			// A query has no signature field: compare without it.
			q := tc.want.(*pubkeyReq)
			theirs := withType(tc.num, &struct {
				User, Service, Method string
				HasSig                bool
				Algo                  string
				Key                   []byte
			}{q.User, q.Service, q.Method, q.HasSig, q.Algo, q.Key})
			if !bytes.Equal(tc.ours, theirs) {
				t.Errorf("%s: ours %x, x/crypto's %x", tc.name, tc.ours, theirs)
			}
			continue
		}
		theirs := withType(tc.num, tc.want)
		if !bytes.Equal(tc.ours, theirs) {
			t.Errorf("%s: ours %x, x/crypto's %x", tc.name, tc.ours, theirs)
			continue
		}
		got := reflect.New(reflect.TypeOf(tc.want).Elem()).Interface()
		if err := ssh.Unmarshal(tc.ours[1:], got); err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: x/crypto reads ours as %+v (%v), want %+v", tc.name, got, err, tc.want)
		}
	}
}
