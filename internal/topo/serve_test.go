package topo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

// TestCountersFromRemoteLinks: `ip -j -d -s link` counters reach the page
// as a counters event after each discovery, keyed as the page keys links,
// and stay out of the model's JSON.
func TestCountersFromRemoteLinks(t *testing.T) {
	t.Parallel()
	links, err := ParseLinks([]byte(`[{"ifindex":2,"ifname":"eth0","flags":["UP"],"operstate":"UP","link_type":"ether",
		"stats64":{"rx":{"bytes":1500,"packets":3},"tx":{"bytes":700,"packets":2}}},
		{"ifindex":3,"ifname":"eth1","flags":[],"operstate":"DOWN","link_type":"ether"}]`))
	if err != nil {
		t.Fatal(err)
	}
	top := &Topology{Schema: SchemaVersion, Host: "h", Source: "ssh", Namespaces: []Namespace{{ID: "", Root: true, Links: links}}}
	b, _ := json.Marshal(top)
	if bytes.Contains(b, []byte("1500")) {
		t.Fatalf("counters leak into the model's JSON: %s", b)
	}
	s := &Server{Discover: func(context.Context) (*Topology, error) { return top, nil }}
	sub := &subscriber{model: make(chan []byte, 1), counters: make(chan []byte, 1)}
	s.subs = map[*subscriber]struct{}{sub: {}}
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sub.counters:
		var c Counters
		if err := json.Unmarshal(got, &c); err != nil || c.Time == 0 || len(c.Links) != 1 || c.Links["/eth0"] != [2]uint64{1500, 700} {
			t.Fatalf("counters event %s, want /eth0 [1500 700] only", got)
		}
	default:
		t.Fatal("no counters event after a discovery that read counters")
	}
}
