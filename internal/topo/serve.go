package topo

// The live page: Server keeps the latest topology, serves the page with
// it embedded, /topology.json, and /events, a server-sent event stream
// that sends the whole model again whenever it changes. Rediscovery runs
// when the watcher signals a change (netlink events locally) or on a
// timer (remote targets), and only a model that differs is sent.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Server serves a live topology page.
type Server struct {
	// Discover reads the topology.
	Discover func(context.Context) (*Topology, error)
	// Changes signals that the network may have changed; nil means only
	// Poll.
	Changes <-chan struct{}
	// Poll rediscovers this often as well; 0 never.
	Poll time.Duration
	// Logf reports discovery errors; nil drops them.
	Logf func(format string, args ...any)

	mu      sync.Mutex
	current []byte // JSON of the latest topology
	model   *Topology
	subs    map[chan []byte]struct{}
}

// Refresh rediscovers now and tells subscribers if anything changed.
func (s *Server) Refresh(ctx context.Context) error {
	t, err := s.Discover(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Equal(b, s.current) {
		return nil
	}
	s.current, s.model = b, t
	for ch := range s.subs {
		select {
		case ch <- b:
		default: // a slow page gets the next one
		}
	}
	return nil
}

// Run rediscovers on every change signal (coalescing bursts) and poll
// tick until ctx ends.
func (s *Server) Run(ctx context.Context) {
	var tick <-chan time.Time
	if s.Poll > 0 {
		t := time.NewTicker(s.Poll)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case _, ok := <-s.Changes:
			if !ok {
				s.Changes = nil
				continue
			}
			// Let a burst (a bridge and its ports coming up) settle.
			timer := time.NewTimer(150 * time.Millisecond)
		drain:
			for {
				select {
				case <-s.Changes:
				case <-timer.C:
					break drain
				case <-ctx.Done():
					timer.Stop()
					return
				}
			}
		}
		if err := s.Refresh(ctx); err != nil && s.Logf != nil && ctx.Err() == nil {
			s.Logf("rediscover: %v", err)
		}
	}
}

// ServeHTTP serves "/" (the page), "/topology.json" and "/events".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cur, model := s.current, s.model
	s.mu.Unlock()
	if model == nil {
		http.Error(w, "no topology yet", http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Path {
	case "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
		WriteHTML(w, model, true)
	case "/topology.json":
		w.Header().Set("Content-Type", "application/json")
		w.Write(cur)
	case "/events":
		s.events(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := make(chan []byte, 1)
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[chan []byte]struct{}{}
	}
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprint(w, ": jumpgate topo\n\n")
	fl.Flush()
	keep := time.NewTicker(25 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			fmt.Fprintf(w, "data: %s\n\n", b)
			fl.Flush()
		case <-keep.C:
			fmt.Fprint(w, ": keepalive\n\n")
			fl.Flush()
		}
	}
}
