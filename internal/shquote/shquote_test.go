package shquote

import (
	"os/exec"
	"testing"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"guest", "guest"},
		{"qemu:///system", "qemu:///system"},
		{"/usr/bin/jumpgate", "/usr/bin/jumpgate"},
		{"", "''"},
		{"my vm", "'my vm'"},
		{"it's", `'it'\''s'`},
		{"'", `''\'''`},
		{"$(reboot)", "'$(reboot)'"},
		{"a=b", "'a=b'"},
		{"~", "'~'"},
		{"*", "'*'"},
		{"-", "-"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestQuoteThroughSh has sh(1) print each quoted word back.
func TestQuoteThroughSh(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	words := []string{
		"", "plain", "two words", "it's", "''", `\`, `\'`, `"`, `"$HOME"`, "$(echo no)", "`echo no`",
		"a\nb", "\t", "*", "?", "[a]", "~", "~root", "a=b", "#", "!", "&;|<>()", "{a,b}", "-n", "%s", "é ü",
	}
	for _, w := range words {
		out, err := exec.Command(sh, "-c", "printf %s "+Quote(w)).Output()
		if err != nil {
			t.Errorf("sh -c 'printf %%s %s': %v", Quote(w), err)
			continue
		}
		if string(out) != w {
			t.Errorf("sh read Quote(%q) = %s as %q", w, Quote(w), out)
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", "$x"} {
		f.Add(s)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		f.Skip("no sh")
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				return // no argument holds a NUL
			}
		}
		out, err := exec.Command(sh, "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Fatalf("sh read Quote(%q) = %s as %q (%v)", s, Quote(s), out, err)
		}
	})
}

// TestJoin: '=' is bare after the first word only, and sh(1) reads the
// joined line back as the same words.
func TestJoin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"ssh", "-o", "ControlMaster=no", "vm1"}, "ssh -o ControlMaster=no vm1"},
		{[]string{"a=b", "c=d"}, "'a=b' c=d"},
		{[]string{"echo", "", "x y"}, "echo '' 'x y'"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Join(tt.in); got != tt.want {
			t.Errorf("Join(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	words := []string{"printf", "%s|", "a=b", "it's", "", "$(echo no)", "c=d e"}
	out, err := exec.Command(sh, "-c", Join(words)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "a=b|it's||$(echo no)|c=d e|"; string(out) != want {
		t.Errorf("sh read %q back as %q, want %q", Join(words), out, want)
	}
}
