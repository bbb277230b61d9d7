// Package yamlnode reads YAML into a tree of nodes that keep their line and
// column, for parsers that walk the tree by hand so that every error names
// the file, line and field, and unknown fields are errors.
//
// It is github.com/goccy/go-yaml's parser behind the node shape of
// gopkg.in/yaml.v3, which jumpgate used before: yaml.v3 compiles regular
// expressions and fills tables when the process starts, whatever the
// command (docs/perf.md, "Start-up").
package yamlnode

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Kind is what a [Node] is.
type Kind int

// The kinds of node. A node of kind 0 stands for nothing at all (an empty
// document).
const (
	Mapping Kind = iota + 1
	Sequence
	Scalar
	Alias
)

// Node is a YAML node.
type Node struct {
	Kind Kind
	// Tag is a scalar's resolved tag ("!!str", "!!int", "!!float",
	// "!!bool", "!!null", "!!merge"), or the tag written before a node.
	Tag string
	// Value is a scalar's text (unquoted, as written otherwise) or an
	// alias's name.
	Value string
	// Content holds a mapping's keys and values, alternately, or a
	// sequence's items.
	Content []*Node
	// Line and Column are 1-based.
	Line, Column int
}

// SyntaxError is YAML that does not parse.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("yaml: line %d: %s", e.Line, e.Msg)
}

// Parse reads every document of data. An empty document after "---" is a
// null; a file of nothing but comments has no document.
func Parse(data []byte) (docs []*Node, err error) {
	// Keys given twice are the caller's to report, with its own words.
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, syntaxError(err)
	}
	for _, d := range f.Docs {
		if d.Body == nil && d.Start == nil {
			continue // nothing at all, or only comments
		}
		n := orNull(convert(d.Body), d.Start)
		if n.Line == 0 {
			// An empty document after a directive has no token of its
			// own: place it at the end, so errors still name a line.
			n.Line, n.Column = max(bytes.Count(data, []byte("\n")), 1), 1
		}
		docs = append(docs, n)
	}
	return docs, nil
}

// tokenError is what goccy's parser errors provide.
type tokenError interface {
	GetToken() *token.Token
	GetMessage() string
}

func syntaxError(err error) error {
	var te tokenError
	if !errors.As(err, &te) {
		return &SyntaxError{Line: 1, Column: 1, Msg: err.Error()}
	}
	e := &SyntaxError{Line: 1, Column: 1, Msg: te.GetMessage()}
	if tk := te.GetToken(); tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}

func at(n *Node, tk *token.Token) *Node {
	if tk != nil && tk.Position != nil {
		n.Line, n.Column = tk.Position.Line, tk.Position.Column
	}
	return n
}

func scalar(tag, value string, tk *token.Token) *Node {
	return at(&Node{Kind: Scalar, Tag: tag, Value: value}, tk)
}

func tokenValue(tk *token.Token) string {
	if tk == nil {
		return ""
	}
	return tk.Value
}

func convert(n ast.Node) *Node {
	switch n := n.(type) {
	case nil:
		return nil
	case *ast.NullNode:
		// An implicit null ("key:" and nothing) is "", as in yaml.v3.
		v := tokenValue(n.Token)
		if n.Token != nil && n.Token.Type == token.ImplicitNullType {
			v = ""
		}
		return scalar("!!null", v, n.Token)
	case *ast.BoolNode:
		return scalar("!!bool", tokenValue(n.Token), n.Token)
	case *ast.IntegerNode:
		return scalar("!!int", tokenValue(n.Token), n.Token)
	case *ast.FloatNode:
		return scalar("!!float", tokenValue(n.Token), n.Token)
	case *ast.InfinityNode:
		return scalar("!!float", tokenValue(n.Token), n.Token)
	case *ast.NanNode:
		return scalar("!!float", tokenValue(n.Token), n.Token)
	case *ast.StringNode:
		return scalar("!!str", n.Value, n.Token)
	case *ast.LiteralNode:
		v := ""
		if n.Value != nil {
			v = n.Value.Value
		}
		return scalar("!!str", v, n.Start)
	case *ast.MergeKeyNode:
		return scalar("!!merge", "<<", n.Token)
	case *ast.AliasNode:
		name := ""
		if n.Value != nil {
			name = n.Value.String()
		}
		return at(&Node{Kind: Alias, Value: name}, n.Start)
	case *ast.AnchorNode:
		return at(orNull(convert(n.Value), n.Start), n.Start)
	case *ast.TagNode:
		c := orNull(convert(n.Value), n.Start)
		c.Tag = tokenValue(n.Start)
		return at(c, n.Start)
	case *ast.MappingKeyNode:
		return orNull(convert(n.Value), n.Start)
	case *ast.MappingValueNode:
		m := &Node{Kind: Mapping}
		pair(m, n)
		return m
	case *ast.MappingNode:
		m := &Node{Kind: Mapping}
		if n.IsFlowStyle {
			at(m, n.Start)
		}
		for _, v := range n.Values {
			pair(m, v)
		}
		return m
	case *ast.SequenceNode:
		s := at(&Node{Kind: Sequence}, n.Start)
		for _, v := range n.Values {
			s.Content = append(s.Content, orNull(convert(v), n.Start))
		}
		return s
	case *ast.DocumentNode:
		return convert(n.Body)
	}
	return &Node{}
}

// pair adds a key and its value to m, which is placed at its first key
// unless it is a flow mapping, placed at its brace.
func pair(m *Node, v *ast.MappingValueNode) {
	k := orNull(convert(v.Key), v.Start)
	if m.Line == 0 {
		m.Line, m.Column = k.Line, k.Column
	}
	val := orNull(convert(v.Value), v.Start)
	if nn, ok := v.Value.(*ast.NullNode); ok && nn.Token != nil && nn.Token.Type == token.ImplicitNullType && v.Start != nil && v.Start.Position != nil {
		// Right after the colon, where yaml.v3 placed it.
		val.Line, val.Column = v.Start.Position.Line, v.Start.Position.Column+1
	}
	m.Content = append(m.Content, k, val)
}

// orNull stands a null at tk for a node that is not there ("- " with
// nothing after it).
func orNull(n *Node, tk *token.Token) *Node {
	if n == nil {
		return scalar("!!null", "", tk)
	}
	return n
}

// KindName says what n is, for errors: "a mapping", "a list", the scalar
// quoted, "an alias" or "nothing".
func KindName(n *Node) string {
	switch n.Kind {
	case Mapping:
		return "a mapping"
	case Sequence:
		return "a list"
	case Alias:
		return "an alias"
	case Scalar:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}
