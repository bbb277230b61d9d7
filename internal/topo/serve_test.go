package topo

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestServerSendsCounters: an open page receives "counters" events on
// their own timer, and a model that changes still reaches it.
func TestServerSendsCounters(t *testing.T) {
	t.Parallel()
	n := 0
	s := &Server{
		Discover: func(context.Context) (*Topology, error) {
			n++
			return &Topology{Schema: SchemaVersion, Host: "h" + strings.Repeat("x", n), Namespaces: []Namespace{}}, nil
		},
		Counters: func(context.Context) (*Counters, error) {
			return &Counters{Time: 1, Links: map[string][2]uint64{"/eth0": {10, 20}}}, nil
		},
		CountersEvery: 20 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	go s.Run(ctx)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var counters, models int
	for sc.Scan() && (counters < 2 || models < 1) {
		line := sc.Text()
		switch {
		case line == "event: counters":
			if !sc.Scan() || sc.Text() != `data: {"t":1,"links":{"/eth0":[10,20]}}` {
				t.Fatalf("counters event carries %q", sc.Text())
			}
			counters++
			if counters == 1 {
				s.Refresh(ctx) // the model changes: it must still arrive
			}
		case strings.HasPrefix(line, "data: {\"schema\""):
			models++
		}
	}
	if counters < 2 || models < 1 {
		t.Fatalf("got %d counters events and %d models before the stream ended: %v", counters, models, sc.Err())
	}
}
