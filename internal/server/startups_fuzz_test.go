package server

import "testing"

// FuzzParseMaxStartups: --max-startups never panics, what it accepts is
// valid, and its start:rate:full form reads back the same.
func FuzzParseMaxStartups(f *testing.F) {
	for _, s := range []string{"10:30:100", "5", "0", "1:100:1", "3:101:5", "9:30:3", "a:b:c", "1:2", "-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMaxStartups(s)
		if err != nil {
			return
		}
		if err := m.valid(); err != nil {
			t.Fatalf("%q parsed to invalid %+v: %v", s, m, err)
		}
		back, err := ParseMaxStartups(m.String())
		if err != nil || back != m {
			t.Fatalf("%q: %+v printed as %q reads back as %+v, %v", s, m, m.String(), back, err)
		}
	})
}
