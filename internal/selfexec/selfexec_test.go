package selfexec

import (
	"context"
	"io"
	"os"
	"os/exec"
	"testing"
)

// TestMain plays the copy when the test binary is started by Start.
func TestMain(m *testing.M) {
	switch os.Getenv("SELFEXEC_TEST_CHILD") {
	case "ready":
		Notify([]byte("ok"))
		os.Exit(0)
	case "fail":
		os.Exit(7)
	}
	os.Exit(m.Run())
}

func TestStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		role      string
		wantReady bool
		wantCode  int
	}{
		{"reports ready", "ready", true, 0},
		{"exits without a report", "fail", false, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Start(Options{Env: append(os.Environ(), "SELFEXEC_TEST_CHILD="+tt.role)})
			if err != nil {
				t.Fatal(err)
			}
			ok, err := c.WaitReady(context.Background(), func(r io.Reader) bool {
				b, _ := io.ReadAll(r)
				return string(b) == "ok"
			})
			if ok != tt.wantReady {
				t.Fatalf("ready = %v, want %v (err %v)", ok, tt.wantReady, err)
			}
			if ok {
				if err := c.Wait(); err != nil {
					t.Errorf("wait: %v", err)
				}
				return
			}
			ee, isExit := err.(*exec.ExitError)
			if !isExit || ee.ExitCode() != tt.wantCode {
				t.Errorf("err = %v, want exit status %d", err, tt.wantCode)
			}
		})
	}
}
