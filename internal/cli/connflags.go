package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// connFlags are ssh's connection flags as vpn and console take them.
type connFlags struct {
	configFile string
	jump       string
	options    []string
	identities []string
	login      string
	port       int
	verbose    int
	quiet      bool
}

// sshArgs feeds the connection flags through ssh's own parser, so they
// mean what they mean to jumpgate ssh; cmd and noun
// (what target is) name them in errors.
func (o *connFlags) sshArgs(e *env, cmd, noun, target string) (*sshArgs, error) {
	var argv []string
	if o.configFile != "" {
		argv = append(argv, "-F", o.configFile)
	}
	if o.jump != "" {
		argv = append(argv, "-J", o.jump)
	}
	for _, x := range o.options {
		argv = append(argv, "-o", x)
	}
	for _, x := range o.identities {
		argv = append(argv, "-i", x)
	}
	if o.login != "" {
		argv = append(argv, "-l", o.login)
	}
	if o.port != 0 {
		argv = append(argv, "-p", strconv.Itoa(o.port))
	}
	for range o.verbose {
		argv = append(argv, "-v")
	}
	if o.quiet {
		argv = append(argv, "-q")
	}
	argv = append(argv, "-N", "--", target)
	home, _, _ := localUser(e)
	a, err := parseSSHArgs(argv, home, func(p string) error {
		_, err := os.Stat(p)
		return err
	}, e.getenv)
	if err != nil {
		var ae *sshArgError
		if errors.As(err, &ae) && ae.msg != "" {
			return nil, usageErrorf("%s: %s", cmd, ae.msg)
		}
		return nil, usageErrorf("%s: bad connection flags or %s %q", cmd, noun, target)
	}
	for _, w := range a.warnings {
		fmt.Fprintln(e.io.ErrOut, w)
	}
	return a, nil
}
