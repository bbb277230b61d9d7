package linkemu

import (
	"reflect"
	"testing"
	"time"
)

func TestArgsRoundTrip(t *testing.T) {
	for _, c := range []Config{
		{ID: "lab:a/eth0", A: Port{"/run/netns/x", "jge1"}, B: Port{"", "jge2"}, Delay: 50 * time.Millisecond, Loss: 0.5, Rate: 16e6},
		{A: Port{Ifname: "a"}, B: Port{Ifname: "b"}, QueueLimit: 10},
	} {
		got, err := ParseArgs(c.Args())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip: got %+v, want %+v", got, c)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no interfaces": {},
		"bad loss":      {"--a-if", "a", "--b-if", "b", "--loss", "101"},
		"bad delay":     {"--a-if", "a", "--b-if", "b", "--delay", "-1s"},
		"extra":         {"--a-if", "a", "--b-if", "b", "x"},
		"unknown flag":  {"--nope"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseArgs(args); err == nil {
				t.Errorf("ParseArgs(%q) succeeded", args)
			}
		})
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("--a-if\x00a\x00--b-if\x00b\x00--delay\x0050ms")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseArgs(splitNUL(s))
		if err != nil {
			return
		}
		again, err := ParseArgs(c.Args())
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %+v: %+v, %v", c, again, err)
		}
	})
}

func splitNUL(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
