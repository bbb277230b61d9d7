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
			if d.Path == "golang.org/x/crypto" {
				xcrypto = d.Version
				if d.Replace != nil {
					xcrypto += " => " + d.Replace.Version
				}
			}
		}
	}
	fmt.Fprintf(e.io.Out, "jumpgate %s\n", version)
	fmt.Fprintf(e.io.Out, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(e.io.Out, "golang.org/x/crypto %s\n", xcrypto)
	return nil
}
