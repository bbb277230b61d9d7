package yamlnode

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// dump writes n's tree one node a line: kind, tag, value, line:column.
func dump(b *strings.Builder, n *Node, indent string) {
	fmt.Fprintf(b, "%s%s %s %q %d:%d\n", indent, KindName(n), n.Tag, n.Value, n.Line, n.Column)
	for _, c := range n.Content {
		dump(b, c, indent+"  ")
	}
}

// The trees are those gopkg.in/yaml.v3 gave for the same text (kinds,
// resolved tags, values, lines and columns), which the parsers of netcfg
// and fw were written against, but for the column of a null that is not
// written in a flow mapping or a list (one apart).
func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"block mapping", "a: 1\nb: x\n", `a mapping  "" 1:1
  "a" !!str "a" 1:1
  "1" !!int "1" 1:4
  "b" !!str "b" 2:1
  "x" !!str "x" 2:4
`},
		{"implicit null after the colon", "a:\nb: ~\nc: ''\n", `a mapping  "" 1:1
  "a" !!str "a" 1:1
  nothing !!null "" 1:3
  "b" !!str "b" 2:1
  nothing !!null "~" 2:4
  "c" !!str "c" 3:1
  "" !!str "" 3:4
`},
		{"scalars resolve as YAML 1.2", "- 1\n- 2.5\n- true\n- FALSE\n- yes\n- .inf\n- null\n- \"7\"\n", `a list  "" 1:1
  "1" !!int "1" 1:3
  "2.5" !!float "2.5" 2:3
  "true" !!bool "true" 3:3
  "FALSE" !!bool "FALSE" 4:3
  "yes" !!str "yes" 5:3
  ".inf" !!float ".inf" 6:3
  nothing !!null "null" 7:3
  "7" !!str "7" 8:3
`},
		{"flow collections", "x: {a: [1, b], c: }\n", `a mapping  "" 1:1
  "x" !!str "x" 1:1
  a mapping  "" 1:4
    "a" !!str "a" 1:5
    a list  "" 1:8
      "1" !!int "1" 1:9
      "b" !!str "b" 1:12
    "c" !!str "c" 1:16
    nothing !!null "" 1:18
`},
		{"anchor, alias, merge key and tag", "a: &x 1\nb: *x\n<<: *x\nc: !!str 5\nd: |\n  two\n  lines\n", `a mapping  "" 1:1
  "a" !!str "a" 1:1
  "1" !!int "1" 1:4
  "b" !!str "b" 2:1
  an alias  "x" 2:4
  "<<" !!merge "<<" 3:1
  an alias  "x" 3:5
  "c" !!str "c" 4:1
  "5" !!str "5" 4:4
  "d" !!str "d" 5:1
  "two\nlines\n" !!str "two\nlines\n" 5:4
`},
		{"sequence of mappings", "- a: 1\n  b: 2\n-\n", `a list  "" 1:1
  a mapping  "" 1:3
    "a" !!str "a" 1:3
    "1" !!int "1" 1:6
    "b" !!str "b" 2:3
    "2" !!int "2" 2:6
  nothing !!null "" 3:3
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			docs, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 {
				t.Fatalf("%d documents, want 1", len(docs))
			}
			var b strings.Builder
			dump(&b, docs[0], "")
			if b.String() != tt.want {
				t.Errorf("Parse(%q):\n%s\nwant:\n%s", tt.in, b.String(), tt.want)
			}
		})
	}
}

func TestParseDocuments(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in    string
		lines []int // of each document
	}{
		{"", nil},
		{"# only a comment\n", nil},
		{"---\n", []int{1}},
		{"a: 1\n---\nb: 2\n", []int{1, 3}},
	} {
		docs, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		var lines []int
		for _, d := range docs {
			lines = append(lines, d.Line)
		}
		if fmt.Sprint(lines) != fmt.Sprint(tt.lines) {
			t.Errorf("Parse(%q): documents at lines %v, want %v", tt.in, lines, tt.lines)
		}
	}
}

func TestParseSyntaxError(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("version: 1\nbridges: [\n"))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse: %v, want a *SyntaxError", err)
	}
	if se.Line != 2 || se.Column != 10 || !strings.Contains(se.Msg, "']' not found") {
		t.Errorf("SyntaxError = %+v, want line 2, column 10, a missing ']'", se)
	}
	if got, want := err.Error(), "yaml: line 2: "+se.Msg; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a: 1\n", "- [x, {y: z}]\n", "a: &x 1\nb: *x\n", "--- 1\n--- 2\n", "k: |\n  v\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Parse(data)
		if err != nil {
			return
		}
		var walk func(n *Node)
		walk = func(n *Node) {
			if n == nil {
				t.Fatal("nil node")
			}
			if n.Kind == Mapping && len(n.Content)%2 != 0 {
				t.Fatalf("mapping with %d keys and values", len(n.Content))
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		for _, d := range docs {
			walk(d)
		}
	})
}
