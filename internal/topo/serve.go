package topo

// The live page: Server keeps the latest topology, serves the page with
// it embedded, /topology.json, and /events, a server-sent event stream
// that sends the whole model again whenever it changes. Rediscovery runs
// when the watcher signals a change (netlink events locally) or on a
// timer (remote targets), and only a model that differs is sent. When
// Counters is set, byte counters are sampled on their own timer and sent
// as "counters" events, from which the page shows each link's rates;
// without it, the counters a discovery read (remote ones do) are sent
// after each discovery.

import (
	"bytes"
	"cmp"
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
	// Counters reads the links' byte counters; nil shows no rates.
	Counters func(context.Context) (*Counters, error)
	// CountersEvery is how often Counters is sampled while a page is
	// open; 0 is every 2 seconds.
	CountersEvery time.Duration
	// Logf reports discovery errors; nil drops them.
	Logf func(format string, args ...any)

	mu      sync.Mutex
	current []byte // JSON of the latest topology
	model   *Topology
	subs    map[*subscriber]struct{}
}

// subscriber is one open /events stream. Each kind of event has its own
// one-slot channel, so a burst of counters never displaces a model.
type subscriber struct {
	model, counters chan []byte
}

// offer hands b to a subscriber's slot; a slow page gets the next one.
func offer(ch chan []byte, b []byte) {
	select {
	case ch <- b:
	default:
	}
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
	var cb []byte
	if c := t.linkCounters(time.Now()); c != nil && s.Counters == nil {
		cb, _ = json.Marshal(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		if cb != nil {
			offer(sub.counters, cb)
		}
	}
	if bytes.Equal(b, s.current) {
		return nil
	}
	s.current, s.model = b, t
	for sub := range s.subs {
		offer(sub.model, b)
	}
	return nil
}

// sampleCounters sends the counters to every open page, if any.
func (s *Server) sampleCounters(ctx context.Context) {
	s.mu.Lock()
	n := len(s.subs)
	s.mu.Unlock()
	if n == 0 {
		return
	}
	c, err := s.Counters(ctx)
	if err != nil {
		if s.Logf != nil && ctx.Err() == nil {
			s.Logf("read counters: %v", err)
		}
		return
	}
	b, err := json.Marshal(c)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		offer(sub.counters, b)
	}
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
	if s.Counters != nil {
		go func() {
			t := time.NewTicker(cmp.Or(s.CountersEvery, 2*time.Second))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					s.sampleCounters(ctx)
				}
			}
		}()
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
	sub := &subscriber{model: make(chan []byte, 1), counters: make(chan []byte, 1)}
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[*subscriber]struct{}{}
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
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
		case b := <-sub.model:
			fmt.Fprintf(w, "data: %s\n\n", b)
			fl.Flush()
		case b := <-sub.counters:
			fmt.Fprintf(w, "event: counters\ndata: %s\n\n", b)
			fl.Flush()
		case <-keep.C:
			fmt.Fprint(w, ": keepalive\n\n")
			fl.Flush()
		}
	}
}
