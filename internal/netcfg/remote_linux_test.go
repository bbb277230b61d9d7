package netcfg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fakeHost answers the discovery script with canned `ip -j` output per
// namespace and records every other script; fail makes the script that
// contains it fail.
type fakeHost struct {
	links   map[string]string // namespace ("" root) → ip -j -d addr show
	scripts []string
	fail    string
}

func (f *fakeHost) shell(_ context.Context, script string) ([]byte, error) {
	if strings.Contains(script, "@links") {
		var b strings.Builder
		for ns, js := range f.links {
			fmt.Fprintf(&b, "@links %s\n%s\n@routes\n[]\n[]\n", ns, js)
		}
		return []byte(b.String()), nil
	}
	f.scripts = append(f.scripts, script)
	if f.fail != "" && strings.Contains(script, f.fail) {
		return nil, errors.New("RTNETLINK answers: File exists")
	}
	return nil, nil
}

func twoHosts(t *testing.T) *Topology {
	t.Helper()
	return readExample(t, "two-hosts.yaml")
}

const underlay = `{"ifname":"eth1","flags":["UP"],"mtu":1500,"addr_info":[{"local":"198.18.2.1","prefixlen":24}]}`

func TestRemotePlan(t *testing.T) {
	t.Parallel()
	top := twoHosts(t)
	alias := AliasPrefix + "p-" + top.Name
	ours := func(name, master string, mtu int, addrs string) string {
		return fmt.Sprintf(`{"ifname":%q,"flags":["UP"],"mtu":%d,"master":%q,"ifalias":%q,"addr_info":[%s]}`, name, mtu, master, alias, addrs)
	}
	tests := []struct {
		name    string
		links   map[string]string
		want    []string // substrings of the plan's steps, in order
		steps   int
		wantErr string
	}{
		{
			name:  "fresh host",
			links: map[string]string{"": "[" + underlay + "]"},
			want: []string{
				"+ hyper1: namespace p-vma",
				"+ hyper1: bridge host/seg100",
				"+ hyper1: veth host/vma0 ↔ vma/eth0",
				"+ hyper1: vxlan host/vx100 (VNI 100, 198.18.2.1 → 198.18.2.2:4789 over eth1, mtu 1450)",
				"~ hyper1: vma/eth0: mtu 1450",
				"+ hyper1: address 198.18.100.1/24 on vma/eth0",
				"+ hyper1: host/vx100 on bridge seg100",
			},
			steps: 15,
		},
		{
			name: "applied already",
			links: map[string]string{
				"": "[" + underlay + "," + ours("seg100", "", 1450, "") + "," + ours("vma0", "seg100", 1450, "") + "," +
					ours("vx100", "seg100", 1450, "") + "]",
				"vma": "[" + ours("lo", "", 65536, "") + "," + ours("eth0", "", 1450, `{"local":"198.18.100.1","prefixlen":24}`) + "]",
			},
		},
		{
			name:  "a bigger underlay",
			links: map[string]string{"": `[{"ifname":"eth1","flags":["UP"],"mtu":9000}]`},
			want:  []string{"mtu 8950"},
			steps: 15,
		},
		{
			name:    "someone else's bridge",
			links:   map[string]string{"": "[" + underlay + `,{"ifname":"seg100","flags":["UP"],"mtu":1500}]`},
			wantErr: `link hyper1:host/seg100 exists and is not owned by "p-twohosts"`,
		},
		{
			name:    "no underlay",
			links:   map[string]string{"": "[]"},
			wantErr: "underlay link hyper1:host/eth1 does not exist",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeHost{links: tc.links}
			o := Options{NetnsPrefix: "p-", Remote: func(context.Context, string) (Shell, error) { return f.shell, nil }}
			r, err := newRemote(context.Background(), top, "hyper1", o)
			if err == nil {
				err = r.plan()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range r.steps {
				got = append(got, s.String())
			}
			all := strings.Join(got, "\n")
			if len(got) != tc.steps {
				t.Errorf("%d steps, want %d:\n%s", len(got), tc.steps, all)
			}
			rest := all
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("plan lacks %q (in order):\n%s", w, all)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestRemoteRollback fails the VXLAN's creation and checks that the steps
// before it are undone on the host, newest first.
func TestRemoteRollback(t *testing.T) {
	t.Parallel()
	f := &fakeHost{links: map[string]string{"": "[" + underlay + "]"}, fail: "type vxlan"}
	o := Options{Remote: func(context.Context, string) (Shell, error) { return f.shell, nil }}
	r, err := newRemote(context.Background(), twoHosts(t), "hyper1", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.plan(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	_, err = run(context.Background(), &Plan{Steps: r.steps}, &log)
	if err == nil || !strings.Contains(err.Error(), "rolled back the 3 steps before it") {
		t.Fatalf("err = %v", err)
	}
	var undone []string
	for _, s := range f.scripts {
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, " del ") {
				undone = append(undone, line)
			}
		}
	}
	want := []string{"ip link del vx100", "ip link del vma0", "ip link del seg100", "ip netns del vma"}
	if strings.Join(undone, "\n") != strings.Join(want, "\n") {
		t.Errorf("undone:\n%s\nwant:\n%s", strings.Join(undone, "\n"), strings.Join(want, "\n"))
	}
}
