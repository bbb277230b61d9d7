package sshconn

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// mapHost is a hostConfig for tests: lower-case keyword → values; ~ is home.
type mapHost struct {
	home string
	v    map[string][]string
}

func newMapHost(home string, kv ...string) *mapHost {
	m := &mapHost{home: home, v: map[string][]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		m.set(kv[i], kv[i+1])
	}
	return m
}

func (m *mapHost) set(k, v string) { m.v[strings.ToLower(k)] = append(m.v[strings.ToLower(k)], v) }
func (m *mapHost) Get(k string) string {
	if v := m.v[strings.ToLower(k)]; len(v) > 0 {
		return v[0]
	}
	return ""
}
func (m *mapHost) GetAll(k string) []string { return m.v[strings.ToLower(k)] }
func (m *mapHost) Expand(s string) (string, error) {
	if strings.HasPrefix(s, "~/") {
		return m.home + s[1:], nil
	}
	return s, nil
}

// testSigner returns a deterministic ed25519 signer named by seed.
func testSigner(t testing.TB, seed string) ssh.Signer {
	t.Helper()
	h := sha256.Sum256([]byte(seed))
	s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(h[:]))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// scriptPrompter answers prompts from a script and records them.
type scriptPrompter struct {
	mu      sync.Mutex
	answers []string
	prompts []string
}

func (p *scriptPrompter) Prompt(prompt string, echo bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prompts = append(p.prompts, prompt)
	if len(p.answers) == 0 {
		return "", fmt.Errorf("unexpected prompt %q", prompt)
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}
