package netcfg

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/jumpgate/jumpgate/internal/linkemu"
)

// TestMain lets the test binary stand in for `jumpgate net link-emu`, so
// apply can start emulators without building jumpgate.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "net" && os.Args[2] == "link-emu" {
		os.Exit(linkEmuMain(os.Args[3:]))
	}
	os.Exit(m.Run())
}

func linkEmuMain(args []string) int {
	cfg, err := linkemu.ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := linkemu.Run(ctx, cfg, func() { fmt.Println("ready") }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
