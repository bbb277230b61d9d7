package topo

import (
	"bytes"
	"testing"
)

// FuzzReadJSON feeds the topology file reader (the documented JSON of
// docs/topo-schema.md) arbitrary bytes: no panic, a model it accepts
// renders in every format, and writing it out reads back the same.
func FuzzReadJSON(f *testing.F) {
	f.Add(readTestdata(f, "lab.json"))
	f.Add([]byte(`{"schema":1,"namespaces":[{"id":"a","links":[{"name":"v","kind":"veth","peer":{"namespace":"b","name":"w"}}],"bridges":[{"name":"br","ports":[{"name":"x","stations":[{"mac":"m"}]}]}]}]}`))
	f.Add([]byte(`{"schema":1,"namespaces":null,"libvirt":{"domains":[{"name":"vm"}]},"ovs":[{"name":"o"}]}`))
	f.Add([]byte(`{"schema":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		top, err := ReadJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		var first bytes.Buffer
		if err := WriteJSON(&first, top); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSON(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("read back what was written: %v\n%s", err, first.Bytes())
		}
		if jsonOf(t, back) != first.String() {
			t.Fatalf("JSON round trip changed the topology:\n%s\n---\n%s", first.String(), jsonOf(t, back))
		}
		WriteText(&bytes.Buffer{}, top)
		WriteDOT(&bytes.Buffer{}, top)
		WriteHTML(&bytes.Buffer{}, top, true)
	})
}

// FuzzParseExtras feeds the ovs-vsctl and virsh output parsers arbitrary
// text: no panic.
func FuzzParseExtras(f *testing.F) {
	for _, name := range []string{"ovs-vsctl-show.txt", "virsh-list.txt", "virsh-domiflist.txt", "virsh-net-list.txt", "virsh-net-info.txt"} {
		f.Add(string(readTestdata(f, name)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseOVSShow(s)
		ParseVirshList(s)
		ParseVirshDomIfList(s)
		ParseVirshNetList(s)
		ParseVirshNetInfo(s)
	})
}
