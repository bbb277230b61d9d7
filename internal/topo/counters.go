package topo

import "time"

// Counters are every link's byte counters at one moment, which the live
// page turns into rates by sampling twice. They travel beside the model,
// not in it: a model that changed every second would redraw the page and
// make the JSON output unstable.
type Counters struct {
	// Time is when the counters were read, in Unix milliseconds.
	Time int64 `json:"t"`
	// Links maps "namespace ID/link name" to [received, sent] bytes.
	Links map[string][2]uint64 `json:"links"`
}

// linkCounters gathers the counters discovery read with t's links (a
// remote discovery does), or nil when it read none.
func (t *Topology) linkCounters(now time.Time) *Counters {
	var c *Counters
	for _, ns := range t.Namespaces {
		for _, l := range ns.Links {
			if l.bytes == nil {
				continue
			}
			if c == nil {
				c = &Counters{Time: now.UnixMilli(), Links: map[string][2]uint64{}}
			}
			c.Links[ns.ID+"/"+l.Name] = *l.bytes
		}
	}
	return c
}
