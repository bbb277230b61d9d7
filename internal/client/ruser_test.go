package client

import "testing"

func TestValidRemoteUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user string
		ok   bool
	}{
		{"root", true}, {"a-b", true}, {"a b", true}, {`a\b`, true}, {"%%", true},
		{"", false}, {"-ab", false}, {"a -b", false}, {"a;b", false}, {"${X}", false},
		{"x\ay", false}, {`a\`, false}, {"a'b", false}, {"a|b", false}, {"a`b`", false},
	} {
		if got := validRemoteUser(tc.user); got != tc.ok {
			t.Errorf("validRemoteUser(%q) = %v, want %v", tc.user, got, tc.ok)
		}
	}
}

func TestCommandLineUsers(t *testing.T) {
	t.Parallel()
	a := &Options{LogLevel: -1, Override: map[string]string{}, DestUser: "d"}
	a.Set("User", "l")
	a.Add("", "User=o")
	a.Add("", "user ${FOO}")
	got := a.commandLineUsers()
	want := []string{"d", "l", "o", "${FOO}"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
