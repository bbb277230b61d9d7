package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/pflag"
)

// connFlags are ssh's connection flags as vpn, console and topo take them.
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

// add registers the connection flags; host names the far host in their
// help ("the hypervisor").
func (o *connFlags) add(fs *pflag.FlagSet, host string) {
	fs.StringVarP(&o.configFile, "config", "F", "", "ssh_config `FILE` (as ssh -F)")
	fs.StringVarP(&o.jump, "jump", "J", "", "jump `HOSTS` to "+host+" (as ssh -J)")
	fs.StringArrayVarP(&o.options, "option", "o", nil, "ssh_config `OPTION` (as ssh -o; repeatable)")
	fs.StringArrayVarP(&o.identities, "identity", "i", nil, "identity `FILE` (as ssh -i; repeatable)")
	fs.StringVarP(&o.login, "login", "l", "", "`USER` on "+host+" (as ssh -l)")
	fs.IntVarP(&o.port, "port", "p", 0, "SSH `PORT` of "+host+" (as ssh -p)")
	fs.CountVarP(&o.verbose, "verbose", "v", "debug messages (as ssh -v; repeatable)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no messages but errors")
}

// sshArgs feeds the connection flags through ssh's own parser, so they
// mean what they mean to jumpgate ssh; cmd and noun
// (what target is) name them in errors.
func (o *connFlags) sshArgs(e *env, cmd, noun, target string) (*sshArgs, error) {
	var argv []string
	add := func(flag string, vs ...string) {
		for _, v := range vs {
			if v != "" {
				argv = append(argv, flag, v)
			}
		}
	}
	add("-F", o.configFile)
	add("-J", o.jump)
	add("-o", o.options...)
	add("-i", o.identities...)
	add("-l", o.login)
	if o.port != 0 {
		add("-p", strconv.Itoa(o.port))
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
