package cli

import (
	"context"
	"fmt"
)

const forwardUsage = `Usage: jumpgate forward [ssh flags] -L|-R|-D SPEC... DESTINATION

Holds the forwards open without a remote command: it is 'jumpgate ssh -N'.
Every flag of 'jumpgate ssh' applies (-J, -F, -o, -f to go to the background).

  jumpgate forward -L 8080:localhost:80 -J hyper1 hyper2
  jumpgate forward -D 1080 hyper2
  jumpgate forward -R 44713:localhost:4713 hyper1
`

// runForward is `jumpgate forward`: ssh -N, for those who only want the
// forwards.
func runForward(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.io.Out, forwardUsage)
		if len(args) == 0 {
			return &statusError{exitUsage}
		}
		return nil
	}
	return runSSH(ctx, e, append([]string{"-N"}, args...))
}
