package server

// MaxStartups, as sshd's: past Start connections that have not logged in,
// new ones are dropped at random, Rate percent at Start rising to all at
// Full, so that idle or slow clients cannot hold every slot; throttling
// is logged when it begins and when it ends, not once per connection.

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxStartups is sshd's start:rate:full.
type MaxStartups struct {
	Start, Rate, Full int
}

// DefaultMaxStartups is sshd's default, 10:30:100.
var DefaultMaxStartups = MaxStartups{Start: 10, Rate: 30, Full: 100}

// String is the start:rate:full form.
func (m MaxStartups) String() string { return fmt.Sprintf("%d:%d:%d", m.Start, m.Rate, m.Full) }

// ParseMaxStartups reads "full" or "start:rate:full", as sshd_config(5).
func ParseMaxStartups(s string) (MaxStartups, error) {
	f := strings.Split(s, ":")
	n := make([]int, len(f))
	for i, x := range f {
		v, err := strconv.Atoi(x)
		if err != nil || v < 0 {
			return MaxStartups{}, fmt.Errorf("max startups %q: want full or start:rate:full, non-negative numbers", s)
		}
		n[i] = v
	}
	var m MaxStartups
	switch len(n) {
	case 1:
		m = MaxStartups{Start: n[0], Rate: 100, Full: n[0]}
	case 3:
		m = MaxStartups{Start: n[0], Rate: n[1], Full: n[2]}
	default:
		return MaxStartups{}, fmt.Errorf("max startups %q: want full or start:rate:full", s)
	}
	if err := m.valid(); err != nil {
		return MaxStartups{}, fmt.Errorf("max startups %q: %w", s, err)
	}
	return m, nil
}

func (m MaxStartups) valid() error {
	switch {
	case m.Full < 1:
		return errors.New("full must be at least 1")
	case m.Start > m.Full:
		return errors.New("start must not exceed full")
	case m.Rate > 100:
		return errors.New("rate is a percentage, at most 100")
	}
	return nil
}

// dropP is the percentage of new connections dropped while n have not
// logged in (sshd's drop_connection).
func (m MaxStartups) dropP(n int) int {
	switch {
	case n < m.Start:
		return 0
	case n >= m.Full:
		return 100
	}
	return m.Rate + (100-m.Rate)*(n-m.Start)/(m.Full-m.Start)
}

// startups counts connections that have not logged in yet.
type startups struct {
	max  MaxStartups
	log  *slog.Logger
	roll func() int // 0..99

	mu       sync.Mutex
	n        int
	dropped  int       // since throttling began
	throttle time.Time // when it began; zero when not throttling
}

// admit counts a new connection in, or says to drop it.
func (s *startups) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.max.dropP(s.n); p > 0 && s.roll() < p {
		if s.throttle.IsZero() {
			s.throttle = time.Now()
			s.log.Info("beginning MaxStartups throttling", "max_startups", s.max.String())
		}
		s.dropped++
		return false
	}
	s.n++
	return true
}

// done counts a connection out: logged in, refused or gone.
func (s *startups) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	if !s.throttle.IsZero() && s.n < s.max.Start {
		s.log.Info("exited MaxStartups throttling", "after", time.Since(s.throttle).Round(time.Second), "dropped", s.dropped)
		s.throttle, s.dropped = time.Time{}, 0
	}
}

func newStartups(m MaxStartups, log *slog.Logger) *startups {
	return &startups{max: m, log: log, roll: func() int { return rand.IntN(100) }}
}
