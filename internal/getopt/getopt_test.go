package getopt

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// all runs the parser to the end, recording options, errors and operands.
func all(optstring string, args []string) (got []string, rest []string, terminated bool) {
	g := Parser{Args: args, Optstring: optstring}
	for n := 0; n <= 2*len(strings.Join(args, " "))+2; n++ {
		opt, arg, err := g.Next()
		switch {
		case err != nil:
			got = append(got, "error: "+err.Error())
			continue
		case opt == 0:
			return got, g.Args[g.Index:], g.Terminated
		}
		got = append(got, fmt.Sprintf("-%c %q", opt, arg))
	}
	panic("getopt did not end")
}

func TestParser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		want  []string
		rest  []string
		ended bool
	}{
		{"cluster", []string{"-NT", "host"}, []string{`-N ""`, `-T ""`}, []string{"host"}, false},
		{"attached argument", []string{"-p22", "h"}, []string{`-p "22"`}, []string{"h"}, false},
		{"argument in the next word", []string{"-Np", "22", "h", "-v"}, []string{`-N ""`, `-p "22"`}, []string{"h", "-v"}, false},
		{"double dash", []string{"-v", "--", "-N"}, []string{`-v ""`}, []string{"-N"}, true},
		{"lone dash is an operand", []string{"-", "-v"}, nil, []string{"-", "-v"}, false},
		{"unknown option", []string{"-Zv", "h"}, []string{"error: unknown option -- Z", `-v ""`}, []string{"h"}, false},
		{"colon is no option", []string{"-:"}, []string{"error: unknown option -- :"}, []string{}, false},
		{"missing argument", []string{"-vp"}, []string{`-v ""`, "error: option requires an argument -- p"}, []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, rest, ended := all("NTvp:", tt.args)
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(rest, tt.rest) || ended != tt.ended {
				t.Errorf("%q: got %q rest %q ended %v; want %q rest %q ended %v", tt.args, got, rest, ended, tt.want, tt.rest, tt.ended)
			}
		})
	}
}

// FuzzParser checks that any argv ends, without a panic, with Index on
// an operand or past the end.
func FuzzParser(f *testing.F) {
	f.Add("ab:c", "-ab x\x00-c\x00--\x00y")
	f.Add("p:", "-p\x00")
	f.Fuzz(func(t *testing.T, optstring, joined string) {
		args := strings.Split(joined, "\x00")
		_, rest, _ := all(optstring, args)
		if len(rest) > len(args) {
			t.Fatalf("rest %q longer than args %q", rest, args)
		}
	})
}
