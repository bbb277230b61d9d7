package topo

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
