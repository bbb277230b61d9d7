package sshconn

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// TestKexOffersHybrid: the command line offers the engine's post-quantum
// hybrid where ssh(1) 9.2's configuration names its own (the default list
// and its edits), and nothing the user did not ask for otherwise.
func TestKexOffersHybrid(t *testing.T) {
	t.Parallel()
	def := sshconf.DefaultAlgorithms("kexalgorithms")
	withoutSntrup := strings.Join(slices.DeleteFunc(strings.Split(def, ","), func(a string) bool {
		return strings.HasPrefix(a, "sntrup761")
	}), ",")
	for _, tc := range []struct {
		name, resolved string
		want           string
	}{
		{"default", def, mlkemKex + "," + withoutSntrup},
		{"default plus one", def + ",diffie-hellman-group1-sha1", mlkemKex + "," + withoutSntrup + ",diffie-hellman-group1-sha1"},
		{"sntrup named", "curve25519-sha256,sntrup761x25519-sha512@openssh.com", "curve25519-sha256," + mlkemKex},
		{"sntrup taken out", withoutSntrup, withoutSntrup},
		{"one named", "curve25519-sha256", "curve25519-sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newMapHost(t.TempDir(), "kexalgorithms", tc.resolved, "hostkeyalgorithms", "ssh-ed25519")
			algs, err := algorithms(settings{h}, &hostKeyPolicy{}, vlog.New(io.Discard, vlog.Quiet))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(algs.KeyExchanges, ","); got != tc.want {
				t.Errorf("KexAlgorithms %s:\noffered %s\nwant    %s", tc.resolved, got, tc.want)
			}
		})
	}
}
