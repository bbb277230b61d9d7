package vpn

import (
	"errors"
	"testing"
	"time"
)

// TestPacer checks that writes stop once paceLimit bytes are unanswered,
// resume when the server's answer comes, and fail once it cannot answer.
func TestPacer(t *testing.T) {
	t.Parallel()
	answers := make(chan error)
	p := newPacer(func() error { return <-answers })
	wrote := make(chan error, 1)
	n := 0
	for n <= paceLimit-1500 {
		if err := p.wrote(1500); err != nil {
			t.Fatal(err)
		}
		n += 1500
	}
	go func() { wrote <- p.wrote(3000) }()
	select {
	case err := <-wrote:
		t.Fatalf("write past the limit went through (%v) with no answer", err)
	case <-time.After(50 * time.Millisecond):
	}
	answers <- nil // the first probe, sent after probeEvery bytes
	for {
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatal(err)
			}
		case answers <- nil:
			continue
		case <-time.After(5 * time.Second):
			t.Fatal("write stayed blocked after the server answered")
		}
		break
	}
	// One byte over the limit: a probe answered in the loop above may
	// have acknowledged everything, and a write of exactly paceLimit would
	// then go through without waiting for the failing one.
	go func() { wrote <- p.wrote(paceLimit + 1) }()
	boom := errors.New("connection lost")
	answers <- boom
	if err := <-wrote; !errors.Is(err, boom) {
		t.Fatalf("write after a failed probe: %v, want %v", err, boom)
	}
}
