package client

// A CPU profile of jumpgate ssh while it forwards, for finding where
// forwarding throughput goes (see `jumpgate bench forward`). Not a flag of
// ssh(1), so it is an environment variable:
//
//	JUMPGATE_CPUPROFILE=FILE[:SECONDS]
//
// starts profiling once the forwards are up and writes FILE (pprof
// format) after SECONDS (default 10). The process must live that long.

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// cpuProfileEnv names the environment variable that asks for a profile.
const cpuProfileEnv = "JUMPGATE_CPUPROFILE"

// startForwardProfile starts the CPU profile spec asks for ("" for none).
// Problems are reported on the log and never stop the forwards.
func (r *Client) startForwardProfile(spec string) {
	if spec == "" {
		return
	}
	path, secs := spec, 10.0
	if i := strings.LastIndexByte(spec, ':'); i > 0 {
		if s, err := strconv.ParseFloat(spec[i+1:], 64); err == nil && s > 0 {
			path, secs = spec[:i], s
		}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(r.logw, "%s: %v\r\n", cpuProfileEnv, err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(r.logw, "%s: %v\r\n", cpuProfileEnv, err)
		return
	}
	time.AfterFunc(time.Duration(secs*float64(time.Second)), func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(r.logw, "%s: %v\r\n", cpuProfileEnv, err)
		}
	})
}
