package engine

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

func newEd25519(t testing.TB) ssh.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type pairResult struct {
	client sshwire.Conn
	server sshwire.ServerConn
	cerr   error
	serr   error
}

// connect runs our client's layers against our server's over memPair.
func connect(t testing.TB, ccfg *sshwire.ClientConfig, scfg *sshwire.ServerConfig) pairResult {
	t.Helper()
	ct, st := memPair()
	done := make(chan struct{})
	var r pairResult
	go func() {
		defer close(done)
		r.server, r.serr = newServerConn(st, scfg, nil, nil)
	}()
	r.client, r.cerr = newClientConn(ct, ccfg, nil, nil)
	if r.cerr != nil {
		ct.close()
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("server side of the handshake did not finish")
	}
	t.Cleanup(func() {
		if r.client != nil {
			r.client.Close()
		}
		if r.server != nil {
			r.server.Close()
		}
	})
	return r
}

func keyEqual(a, b ssh.PublicKey) bool { return string(a.Marshal()) == string(b.Marshal()) }

func TestAuthPublicKey(t *testing.T) {
	t.Parallel()
	user := newEd25519(t)
	other := newEd25519(t)
	var mu sync.Mutex
	var log []string
	calls := 0
	scfg := &sshwire.ServerConfig{
		PublicKeyCallback: func(meta sshwire.ConnMetadata, key ssh.PublicKey) (*sshwire.Permissions, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			if meta.User() != "me" || !keyEqual(key, user.PublicKey()) {
				return nil, errors.New("not this key")
			}
			return &sshwire.Permissions{Extensions: map[string]string{"fp": ssh.FingerprintSHA256(key)}}, nil
		},
		AuthLogCallback: func(meta sshwire.ConnMetadata, method string, err error) {
			mu.Lock()
			defer mu.Unlock()
			log = append(log, method+"="+strings.TrimSpace(map[bool]string{true: "ok", false: "fail"}[err == nil]))
		},
	}
	r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(other, user)}}, scfg)
	if r.cerr != nil || r.serr != nil {
		t.Fatalf("client %v, server %v", r.cerr, r.serr)
	}
	if got := r.server.Permissions().Extensions["fp"]; got != ssh.FingerprintSHA256(user.PublicKey()) {
		t.Errorf("permissions fp %q", got)
	}
	if r.server.User() != "me" || string(r.server.SessionID()) != string(r.client.SessionID()) {
		t.Errorf("metadata: user %q", r.server.User())
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"none=fail", "publickey=fail", "publickey=ok"}; !slices.Equal(log, want) {
		t.Errorf("auth log %v, want %v", log, want)
	}
	// The query and the signed request of a key ask the callback once.
	if calls != 2 {
		t.Errorf("callback called %d times, want 2", calls)
	}
}

// TestAuthRSA checks the algorithm choice by server-sig-algs and that a
// server verifies an rsa-sha2-512 signature.
func TestAuthRSA(t *testing.T) {
	t.Parallel()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		algs []string
		want string
	}{
		{nil, "ssh-rsa"},
		{[]string{"ssh-ed25519", "rsa-sha2-256"}, "rsa-sha2-256"},
		{[]string{"rsa-sha2-256", "rsa-sha2-512"}, "rsa-sha2-512"},
		{[]string{"ssh-ed25519"}, "ssh-rsa"},
	} {
		if got := pubkeyAlgo(s, tc.algs); got != tc.want {
			t.Errorf("pubkeyAlgo(%v) = %q, want %q", tc.algs, got, tc.want)
		}
	}
	r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(s)}},
		&sshwire.ServerConfig{PublicKeyCallback: func(_ sshwire.ConnMetadata, key ssh.PublicKey) (*sshwire.Permissions, error) {
			if !keyEqual(key, s.PublicKey()) {
				return nil, errors.New("no")
			}
			return nil, nil
		}})
	if r.cerr != nil || r.serr != nil {
		t.Fatalf("client %v, server %v", r.cerr, r.serr)
	}
	if r.server.Permissions() == nil {
		t.Error("nil permissions after success")
	}
}

func TestAuthCertificate(t *testing.T) {
	t.Parallel()
	ca := newEd25519(t)
	user := newEd25519(t)
	cert := &ssh.Certificate{Key: user.PublicKey(), CertType: ssh.UserCert, KeyId: "me", ValidPrincipals: []string{"me"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	cs, err := ssh.NewCertSigner(cert, user)
	if err != nil {
		t.Fatal(err)
	}
	r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(cs)}},
		&sshwire.ServerConfig{PublicKeyCallback: func(_ sshwire.ConnMetadata, key ssh.PublicKey) (*sshwire.Permissions, error) {
			c, ok := key.(*ssh.Certificate)
			if !ok || !keyEqual(c.SignatureKey, ca.PublicKey()) {
				return nil, errors.New("want a certificate by the CA")
			}
			return nil, nil
		}})
	if r.cerr != nil || r.serr != nil {
		t.Fatalf("client %v, server %v", r.cerr, r.serr)
	}
}

func passwordServer(want string) *sshwire.ServerConfig {
	return &sshwire.ServerConfig{PasswordCallback: func(meta sshwire.ConnMetadata, pw []byte) (*sshwire.Permissions, error) {
		if string(pw) != want {
			return nil, errors.New("wrong password")
		}
		return &sshwire.Permissions{Extensions: map[string]string{"via": "password"}}, nil
	}}
}

func passwords(pw ...string) sshwire.Password {
	var mu sync.Mutex
	return sshwire.Password{Password: func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(pw) == 0 {
			return "", errors.New("out of passwords")
		}
		p := pw[0]
		pw = pw[1:]
		return p, nil
	}}
}

func TestAuthPassword(t *testing.T) {
	t.Parallel()
	t.Run("success", func(t *testing.T) {
		t.Parallel()
		r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{passwords("s3cret")}}, passwordServer("s3cret"))
		if r.cerr != nil || r.serr != nil {
			t.Fatalf("client %v, server %v", r.cerr, r.serr)
		}
		if r.server.Permissions().Extensions["via"] != "password" {
			t.Error("permissions lost")
		}
	})
	t.Run("retry", func(t *testing.T) {
		t.Parallel()
		r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Retry{Method: passwords("a", "b", "s3cret"), Max: 3}}}, passwordServer("s3cret"))
		if r.cerr != nil || r.serr != nil {
			t.Fatalf("client %v, server %v", r.cerr, r.serr)
		}
	})
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		scfg := passwordServer("s3cret")
		scfg.PublicKeyCallback = func(sshwire.ConnMetadata, ssh.PublicKey) (*sshwire.Permissions, error) { return nil, errors.New("no") }
		r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(newEd25519(t)), passwords("wrong")}}, scfg)
		var ae *AuthError
		if !errors.As(r.cerr, &ae) {
			t.Fatalf("client error %v, want *AuthError", r.cerr)
		}
		if !slices.Equal(ae.Tried, []string{"none", "publickey", "password"}) || !slices.Equal(ae.Allowed, []string{"publickey", "password"}) {
			t.Errorf("tried %v allowed %v", ae.Tried, ae.Allowed)
		}
		// internal/dial reads the method list out of this wording.
		if !strings.Contains(ae.Error(), "unable to authenticate, attempted methods [none publickey password]") {
			t.Errorf("message %q", ae.Error())
		}
		if r.serr == nil {
			t.Error("server side succeeded")
		}
	})
}

func TestAuthMaxTries(t *testing.T) {
	t.Parallel()
	var keys []ssh.Signer
	for range 5 {
		keys = append(keys, newEd25519(t))
	}
	r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(keys...)}},
		&sshwire.ServerConfig{MaxAuthTries: 3, PublicKeyCallback: func(sshwire.ConnMetadata, ssh.PublicKey) (*sshwire.Permissions, error) {
			return nil, errors.New("no")
		}})
	var rd *DisconnectError
	if !errors.As(r.cerr, &rd) || rd.Reason != disconnectProtocolError || rd.Message != "Too many authentication failures" {
		t.Fatalf("client error %v, want the disconnect", r.cerr)
	}
	if !errors.Is(r.serr, errTooManyAuthFailures) {
		t.Fatalf("server error %v", r.serr)
	}
}

func TestAuthKeyboardInteractive(t *testing.T) {
	t.Parallel()
	scfg := &sshwire.ServerConfig{KeyboardInteractiveCallback: func(meta sshwire.ConnMetadata, ask sshwire.KeyboardInteractiveChallenge) (*sshwire.Permissions, error) {
		a, err := ask("login", "answer both", []string{"Password: ", "Code: "}, []bool{false, true})
		if err != nil {
			return nil, err
		}
		if a[0] != "pw" || a[1] != "42" {
			return nil, errors.New("wrong answers")
		}
		if _, err := ask("", "", nil, nil); err != nil { // an empty round, as PAM sends
			return nil, err
		}
		return nil, nil
	}}
	var gotEchos []bool
	ki := sshwire.KeyboardInteractive{Challenge: func(name, instr string, qs []string, echos []bool) ([]string, error) {
		if len(qs) == 0 {
			return nil, nil
		}
		gotEchos = echos
		return []string{"pw", "42"}, nil
	}}
	r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{ki}}, scfg)
	if r.cerr != nil || r.serr != nil {
		t.Fatalf("client %v, server %v", r.cerr, r.serr)
	}
	if !slices.Equal(gotEchos, []bool{false, true}) {
		t.Errorf("echos %v", gotEchos)
	}
}

func TestAuthBannerAndCallback(t *testing.T) {
	t.Parallel()
	scfg := passwordServer("pw")
	scfg.BannerCallback = func(meta sshwire.ConnMetadata) string { return "hello " + meta.User() + "\n" }
	var banner string
	var contexts []sshwire.AuthContext
	pw := passwords("pw")
	r := connect(t, &sshwire.ClientConfig{
		User:           "me",
		BannerCallback: func(m string) error { banner = m; return nil },
		AuthCallback: func(ac sshwire.AuthContext) (sshwire.AuthMethod, error) {
			contexts = append(contexts, ac)
			if slices.Contains(ac.Tried, "password") {
				return nil, nil
			}
			return pw, nil
		},
	}, scfg)
	if r.cerr != nil || r.serr != nil {
		t.Fatalf("client %v, server %v", r.cerr, r.serr)
	}
	if banner != "hello me\n" {
		t.Errorf("banner %q", banner)
	}
	if len(contexts) != 1 || !slices.Equal(contexts[0].Tried, []string{"none"}) || !slices.Equal(contexts[0].Allowed, []string{"password"}) {
		t.Errorf("auth contexts %+v", contexts)
	}
}

// scriptedServer answers the client's authentication with fixed
// replies, for what our server never sends (partial success, password
// change requests).
func scriptedServer(t *testing.T, st *memTransport, replies func(req *userauthRequest) [][]byte) {
	t.Helper()
	p, err := st.readPacket()
	if err != nil {
		return
	}
	if s, ok := parseService(p, layerMsgServiceRequest); !ok || s != serviceUserauth {
		t.Errorf("first message %v", p)
		return
	}
	st.writePacket(serviceMsg(layerMsgServiceAccept, serviceUserauth))
	for {
		p, err := st.readPacket()
		if err != nil {
			return
		}
		req, ok := parseUserauthRequest(p)
		if !ok {
			if p[0] == msgUserauthInfoResp {
				req = &userauthRequest{method: "info-response"}
			} else {
				t.Errorf("message %d", p[0])
				return
			}
		}
		for _, m := range replies(req) {
			st.writePacket(m)
		}
	}
}

func TestAuthPartialSuccess(t *testing.T) {
	t.Parallel()
	ct, st := memPair()
	defer ct.close()
	go scriptedServer(t, st, func(req *userauthRequest) [][]byte {
		switch req.method {
		case "none":
			return [][]byte{(&userauthFailure{methods: []string{"password"}}).marshal()}
		case "password":
			return [][]byte{(&userauthFailure{methods: []string{"keyboard-interactive"}, partial: true}).marshal()}
		case "keyboard-interactive":
			return [][]byte{(&infoRequest{prompts: []string{"Code: "}, echos: []bool{true}}).marshal()}
		case "info-response":
			return [][]byte{{msgUserauthSuccess}}
		}
		return nil
	})
	ki := sshwire.KeyboardInteractive{Challenge: func(_, _ string, qs []string, _ []bool) ([]string, error) { return []string{"1"}, nil }}
	if err := clientAuth(ct, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{passwords("pw"), ki}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ct.authed:
	default:
		t.Error("transport not told of success")
	}
}

func TestAuthPasswordChange(t *testing.T) {
	t.Parallel()
	ct, st := memPair()
	defer ct.close()
	go scriptedServer(t, st, func(req *userauthRequest) [][]byte {
		switch req.method {
		case "none":
			return [][]byte{(&userauthFailure{methods: []string{"password"}}).marshal()}
		case "password":
			return [][]byte{addStr(addStr([]byte{msgUserauthMethod60}, "Your password has expired"), "")}
		}
		return [][]byte{(&userauthFailure{methods: []string{"password"}}).marshal()}
	})
	err := clientAuth(ct, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{passwords("old")}})
	var ae *AuthError
	if !errors.As(err, &ae) || ae.PasswordChange != "Your password has expired" || !strings.Contains(err.Error(), "password change") {
		t.Fatalf("error %v", err)
	}
}

// refusingSigner is an agent key whose agent refuses to sign.
type refusingSigner struct{ ssh.Signer }

func (refusingSigner) Sign(io.Reader, []byte) (*ssh.Signature, error) {
	return nil, errors.New("agent refused operation")
}

// TestAuthSignFailure: a key that fails to sign is skipped, as ssh(1)
// skips it, and the next key logs in.
func TestAuthSignFailure(t *testing.T) {
	t.Parallel()
	bad, good := newEd25519(t), newEd25519(t)
	r := connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(refusingSigner{bad}, good)}},
		&sshwire.ServerConfig{PublicKeyCallback: func(sshwire.ConnMetadata, ssh.PublicKey) (*sshwire.Permissions, error) { return nil, nil }})
	if r.cerr != nil || r.serr != nil {
		t.Fatalf("client %v, server %v", r.cerr, r.serr)
	}
	r = connect(t, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(refusingSigner{bad})}},
		&sshwire.ServerConfig{PublicKeyCallback: func(sshwire.ConnMetadata, ssh.PublicKey) (*sshwire.Permissions, error) { return nil, nil }})
	var ae *AuthError
	if !errors.As(r.cerr, &ae) || len(ae.SignErrors) != 1 || !strings.Contains(ae.SignErrors[0].Error(), "agent refused") {
		t.Fatalf("client error %v", r.cerr)
	}
}

// TestAuthPartialSameMethod: after partial success the server may want
// the same method again (sshd's AuthenticationMethods publickey,publickey).
func TestAuthPartialSameMethod(t *testing.T) {
	t.Parallel()
	ct, st := memPair()
	defer ct.close()
	go scriptedServer(t, st, func(req *userauthRequest) [][]byte {
		switch {
		case req.method == "none":
			return [][]byte{(&userauthFailure{methods: []string{"password"}}).marshal()}
		case req.method == "password" && string(req.password) == "one":
			return [][]byte{(&userauthFailure{methods: []string{"password"}, partial: true}).marshal()}
		case req.method == "password" && string(req.password) == "two":
			return [][]byte{{msgUserauthSuccess}}
		}
		return [][]byte{(&userauthFailure{methods: []string{"password"}}).marshal()}
	})
	if err := clientAuth(ct, &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{passwords("one", "two")}}); err != nil {
		t.Fatal(err)
	}
}
