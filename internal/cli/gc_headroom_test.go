package cli

import (
	"context"
	"math"
	"runtime/debug"
	"testing"
)

func TestGCHeadroomSetsAndRestores(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	stop := startGCHeadroom(context.Background(), getenv)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC while on = %d, want -1 (off, the limit decides)", got)
	}
	if got := debug.SetMemoryLimit(-1); got < gcFloor {
		t.Errorf("memory limit while on = %d, want at least %d", got, gcFloor)
	}
	stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after stop = %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit after stop = %d, want none", got)
	}

	// The user's own tuning is left alone.
	env["GOGC"] = "200"
	stop = startGCHeadroom(context.Background(), getenv)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC with the user's GOGC set = %d, want untouched 100", got)
	}
	stop()
}
