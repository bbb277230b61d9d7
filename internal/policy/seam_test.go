package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// connectionAPI are x/crypto/ssh's names for connections, channels,
// sessions and their configuration. Nothing uses them: features use
// sshwire's, which our engine implements. Keys, signers, certificates, Marshal and Unmarshal stay allowed.
var connectionAPI = map[string]bool{
	"Client": true, "Session": true, "Channel": true, "NewChannel": true, "Request": true,
	"Conn": true, "ServerConn": true, "NewClientConn": true, "NewServerConn": true, "NewClient": true,
	"Dial": true, "ClientConfig": true, "ServerConfig": true, "Config": true, "DiscardRequests": true,
	"OpenChannelError": true, "ExitError": true, "ExitMissingError": true,
	"RejectionReason": true, "Prohibited": true, "ConnectionFailed": true, "UnknownChannelType": true, "ResourceShortage": true,
	"AuthMethod": true, "PublicKeys": true, "PublicKeysCallback": true, "Password": true, "PasswordCallback": true,
	"KeyboardInteractive": true, "KeyboardInteractiveChallenge": true, "RetryableAuthMethod": true,
	"ConnMetadata": true, "TerminalModes": true, "Signal": true,
	"SIGABRT": true, "SIGALRM": true, "SIGFPE": true, "SIGHUP": true, "SIGILL": true, "SIGINT": true,
	"SIGKILL": true, "SIGPIPE": true, "SIGQUIT": true, "SIGSEGV": true, "SIGTERM": true, "SIGUSR1": true, "SIGUSR2": true,
}

// TestSeam fails when a file uses x/crypto/ssh's
// connection API (tests included: they are where it creeps back first).
func TestSeam(t *testing.T) {
	top := root(t)
	err := filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, top+string(filepath.Separator)))
		if d.IsDir() {
			if path != top && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		for _, v := range seamViolations(t, path) {
			t.Errorf("%s: uses x/crypto/ssh's %s; use internal/sshwire", rel+v.pos, v.name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type violation struct{ pos, name string }

// seamViolations lists the selectors on the x/crypto/ssh import of one file.
func seamViolations(t *testing.T, path string) []violation {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("parse %s: %v", path, err)
		return nil
	}
	local := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "golang.org/x/crypto/ssh" {
			local = "ssh"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" || local == "_" {
		return nil
	}
	if local == "." {
		return []violation{{"", "dot import"}}
	}
	var out []violation
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == local && connectionAPI[sel.Sel.Name] {
			out = append(out, violation{":" + strconv.Itoa(fset.Position(sel.Pos()).Line), sel.Sel.Name})
		}
		return true
	})
	return out
}
