package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// runSSH is `jumpgate ssh` (and the binary invoked as "ssh"). Its messages
// are OpenSSH's, so that scripts and people used to ssh(1) recognise them;
// every failure exits 255 and a remote command's status passes through.
func runSSH(ctx context.Context, e *env, args []string) error {
	home, _, _ := localUser(e)
	a, err := parseSSHArgs(args, home, func(p string) error {
		_, err := os.Stat(p)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return errors.New(client.StrerrorText(err))
		}
		return nil
	}, e.getenv)
	if err != nil {
		var ae *sshArgError
		if errors.As(err, &ae) {
			switch {
			case ae.msg != "" && ae.plain:
				fmt.Fprintf(e.io.ErrOut, "%s\n", vlog.Clip(ae.msg))
			case ae.msg != "":
				fmt.Fprintf(e.io.ErrOut, "%s\r\n", vlog.Clip(ae.msg))
			}
			if ae.usage {
				io.WriteString(e.io.ErrOut, sshUsage)
			}
			return &statusError{exitConnection}
		}
		return err
	}
	for _, w := range a.warnings {
		fmt.Fprintln(e.io.ErrOut, w)
	}
	if a.version {
		fmt.Fprintf(e.io.ErrOut, "jumpgate %s (OpenSSH_9.2p1 compatible client), %s\n", version, runtime.Version())
		return nil
	}
	if a.query != "" {
		list, ok := client.Query(a.query)
		if !ok {
			fmt.Fprintf(e.io.ErrOut, "%s\r\n", vlog.Clip(fmt.Sprintf("Unsupported query \"%s\"", a.query)))
			return &statusError{exitConnection}
		}
		for _, s := range list {
			fmt.Fprintln(e.io.Out, s)
		}
		return nil
	}

	// Linked as "ssh", jumpgate is a drop-in: OpenSSH's defaults.
	a.OpenSSHDefaults = e.argv0 == "ssh"
	r := newClient(ctx, e, a)
	if a.LogFile != "" {
		f, err := os.OpenFile(a.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(e.io.ErrOut, "Couldn't open logfile %s: %s\n", a.LogFile, client.StrerrorText(err))
			return &statusError{exitConnection}
		}
		defer f.Close()
		r.LogTo(f)
	}
	return r.Run(ctx)
}

// newClient is the ssh client for a parsed command line.
func newClient(ctx context.Context, e *env, a *sshArgs) *client.Client {
	return client.New(ctx, client.Env{IO: e.io, Getenv: e.getenv, Environ: os.Environ, Argv: os.Args, Version: version,
		Forked: e.forked, Master: e.master}, &a.Options)
}

// localUser is who runs us (see client.LocalUser).
func localUser(e *env) (home, name string, uid int) { return client.LocalUser(e.getenv) }
