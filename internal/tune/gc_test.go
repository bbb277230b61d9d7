package tune

import (
	"runtime"
	"testing"
)

// nextGC runs a collection and returns the heap size at which the next
// one will start.
func nextGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NextGC
}

func TestGCHeadroom(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	before := nextGC()
	if before >= gcFloor {
		t.Skipf("the test binary's heap goal is already %d, above the floor %d", before, gcFloor)
	}

	stop := startGCHeadroom(getenv)
	if got := nextGC(); got < 2*gcFloor {
		t.Errorf("heap goal with headroom = %d, want at least %d", got, 2*gcFloor)
	}
	stop()
	if got := nextGC(); got >= gcFloor/2 {
		t.Errorf("heap goal after stop = %d, want it back near %d", got, before)
	}

	// The user's own tuning is left alone.
	env["GOGC"] = "200"
	stop = startGCHeadroom(getenv)
	if got := nextGC(); got >= gcFloor/2 {
		t.Errorf("heap goal with the user's GOGC set = %d, want no headroom (near %d)", got, before)
	}
	stop()
}
