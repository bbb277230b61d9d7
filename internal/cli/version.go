package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time with -ldflags "-X ...cli.version=v1.2.3".
var version = "devel"

const versionUsage = `Usage: jumpgate version

Prints jumpgate's version, the Go it was built with, and x/crypto's version.
`

func runVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usageErrorf("version takes no arguments")
	}
	xcrypto := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "golang.org/x/crypto" && d.Replace != nil {
				xcrypto = d.Version + " => " + d.Replace.Version
			} else if d.Path == "golang.org/x/crypto" {
				xcrypto = d.Version
			}
		}
	}
	_, err := fmt.Fprintf(e.io.Out, "jumpgate %s\ngo %s %s/%s\ngolang.org/x/crypto %s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, xcrypto)
	return err
}
