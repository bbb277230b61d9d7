package topo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
)

// artifactDir is where a test keeps files for people to look at:
// $JUMPGATE_ARTIFACTS/<test> when set, else the test's temp dir.
func artifactDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("JUMPGATE_ARTIFACTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (scripts/deps.sh installs it)")
	return ""
}

// pageCheck is what the page's own check wrote into #check.
type pageCheck struct {
	edges, segments, labels, oblique, crossings, width, height int
	detail                                                     string
}

var checkAttr = regexp.MustCompile(`data-(edges|segments|labels|oblique|crossings|width|height)="(\d+)"`)

// rateEvents is a stand-in for the live stream: two counters samples a
// second apart, then the end, so that Chromium's virtual time can run out
// (a real stream never ends). The page must show 2.0 kB/s received on
// hyper2's vnet0.
const rateEvents = "retry: 600000\n\n" +
	"event: counters\n" + `data: {"t":1000,"links":{"LAB-hyper2/vnet0":[1000,500],"LAB-vm1/eth0":[7,7]}}` + "\n\n" +
	"event: counters\n" + `data: {"t":2000,"links":{"LAB-hyper2/vnet0":[3000,1500],"LAB-vm1/eth0":[2500007,7]}}` + "\n\n"

// loadPage loads top's page in headless Chromium with the crossing check
// on (hash "#check" or "#check-straight"), returns the DOM and the check,
// and keeps the page and a screenshot of its first height pixels in dir.
// With events set the page is the live one and /events sends them.
func loadPage(t *testing.T, top *Topology, dir, name, hash string, height int, events string) (string, pageCheck) {
	t.Helper()
	browser := chromium(t)
	var b bytes.Buffer
	if err := WriteHTML(&b, top, events != ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".html"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { w.Write(b.Bytes()) })
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, events)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// One run both dumps the DOM and takes the screenshot: the page lays
	// out to the window's width, and height only decides how much of it
	// the screenshot holds.
	shot := filepath.Join(dir, name+".png")
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), fmt.Sprintf("--window-size=1400,%d", height),
		"--dump-dom", "--screenshot=" + shot, srv.URL + "/" + hash}
	if events != "" {
		args = append([]string{"--virtual-time-budget=2000"}, args...) // let the events arrive
	}
	cmd := exec.CommandContext(ctx, browser, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := string(out)
	start := strings.Index(dom, `<pre id="check"`)
	if start < 0 {
		os.WriteFile(filepath.Join(dir, name+".dom.html"), []byte(dom), 0o644)
		t.Fatalf("page %s wrote no #check (DOM kept in %s)", name, dir)
	}
	tag := dom[start:]
	var c pageCheck
	fields := map[string]*int{"edges": &c.edges, "segments": &c.segments, "labels": &c.labels,
		"oblique": &c.oblique, "crossings": &c.crossings, "width": &c.width, "height": &c.height}
	for _, m := range checkAttr.FindAllStringSubmatch(tag[:strings.Index(tag, ">")], -1) {
		*fields[m[1]], _ = strconv.Atoi(m[2])
	}
	c.detail = tag[strings.Index(tag, ">")+1 : strings.Index(tag, "</pre>")]
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 1000 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
	return dom, c
}

// labTopology is the canonical lab as its golden file holds it, with
// stations learned on hyper2's bridge so ports carry long labels.
func labTopology(t *testing.T) *Topology {
	t.Helper()
	f, err := os.Open("testdata/lab.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	top, err := ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range top.Namespaces {
		for j := range top.Namespaces[i].Bridges {
			for k := range top.Namespaces[i].Bridges[j].Ports {
				p := &top.Namespaces[i].Bridges[j].Ports[k]
				p.Stations = []Station{{MAC: "52:54:00:12:34:" + fmt.Sprintf("%02x", 16*j+k), IPs: []string{"198.18.6." + strconv.Itoa(11+k)}}}
			}
		}
	}
	return top
}

// fleetTopology is a synthetic fleet of n hosts drawn as one topology:
// each host has a bridge with an uplink and two guests in namespaces of
// their own, hosts are chained by their uplinks' second ends, and every
// fifth host also reaches one seven hosts on (a long edge).
func fleetTopology(n int) *Topology {
	top := &Topology{Schema: SchemaVersion, Host: fmt.Sprintf("fleet of %d hosts", n), Source: "ssh"}
	h := func(i int) string { return fmt.Sprintf("hv%02d", i) }
	peer := func(host, ns, name string) *PeerRef {
		id := host
		if ns != "" {
			id += "/" + ns
		}
		return &PeerRef{Namespace: id, Name: name}
	}
	for i := range n {
		host := h(i)
		root := Namespace{ID: host, Name: host, Host: host}
		br := Bridge{Name: "br0"}
		root.Links = append(root.Links, Link{Name: "br0", Kind: KindBridge, State: "up", AdminUp: true,
			Addresses: []Address{{CIDR: fmt.Sprintf("198.18.%d.1/24", i), Family: "inet"}}})
		for g := range 2 {
			vm := fmt.Sprintf("vm%d", g)
			port := fmt.Sprintf("vnet%d", g)
			root.Links = append(root.Links, Link{Name: port, Kind: KindVeth, State: "up", AdminUp: true, Master: "br0", Peer: peer(host, vm, "eth0")})
			mac := fmt.Sprintf("52:54:00:00:%02x:%02x", i, g)
			br.Ports = append(br.Ports, Port{Name: port, Kind: KindVeth, Stations: []Station{{MAC: mac, IPs: []string{fmt.Sprintf("198.18.%d.%d", i, 10+g)}}}})
			top.Namespaces = append(top.Namespaces, Namespace{ID: host + "/" + vm, Name: host + "/" + vm, Host: host,
				Links: []Link{{Name: "eth0", Kind: KindVeth, State: "up", AdminUp: true, MAC: mac, Peer: peer(host, "", port),
					Addresses: []Address{{CIDR: fmt.Sprintf("198.18.%d.%d/24", i, 10+g), Family: "inet"}}}}})
		}
		if i+1 < n {
			root.Links = append(root.Links, Link{Name: "up1", Kind: KindVeth, State: "up", AdminUp: true, Master: "br0", Peer: peer(h(i+1), "", "up0")})
			br.Ports = append(br.Ports, Port{Name: "up1", Kind: KindVeth})
		}
		if i > 0 {
			root.Links = append(root.Links, Link{Name: "up0", Kind: KindVeth, State: "up", AdminUp: true, Master: "br0", Peer: peer(h(i-1), "", "up1")})
			br.Ports = append(br.Ports, Port{Name: "up0", Kind: KindVeth})
		}
		if i%5 == 0 && i+7 < n {
			root.Links = append(root.Links, Link{Name: "far", Kind: KindVeth, State: "up", AdminUp: true, Peer: peer(h(i+7), "", "back")})
		}
		if i%5 == 2 && i >= 7 {
			root.Links = append(root.Links, Link{Name: "back", Kind: KindVeth, State: "up", AdminUp: true, Peer: peer(h(i-7), "", "far")})
		}
		root.Bridges = []Bridge{br}
		top.Namespaces = append(top.Namespaces, root)
	}
	slices.SortStableFunc(top.Namespaces, func(a, b Namespace) int { return strings.Compare(a.ID, b.ID) })
	return top
}

// TestPageLayoutInChromium draws the lab and a 50-host fleet in headless
// Chromium and checks from the DOM that every edge is drawn, runs only
// horizontally and vertically, and crosses no label's box; the
// screenshots stay in the artifact directory. The old straight lines,
// drawn on the same lab, must fail the same check. The lab page is the
// live one, fed two counters samples: it must show the rates they make.
func TestPageLayoutInChromium(t *testing.T) {
	dir := artifactDir(t)
	for _, tc := range []struct {
		name                  string
		top                   *Topology
		edges, labels, height int
		events                string
		want                  []string
	}{
		{"lab", labTopology(t), 5, 18, 800, rateEvents, []string{
			`data-rate="LAB-hyper2/vnet0">rx 2.0 kB/s tx 1.0 kB/s<`,
			`data-rate="LAB-vm1/eth0">rx 2.5 MB/s tx 0 B/s<`,
			`data-rate="LAB-hyper2/vnet1"><`,
		}},
		{"fleet50", fleetTopology(50), 50*2 + 49 + 9, 50 * 11, 6000, "", nil},
		// Collapsed, a host's edges to its own guests vanish and those
		// to other hosts end on its title.
		{"fleet50-collapsed", fleetTopology(50), 49 + 9, 50, 1400, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // Chromium mostly waits for itself
			hash := "#check"
			if strings.HasSuffix(tc.name, "-collapsed") {
				hash += "-collapsed"
			}
			dom, c := loadPage(t, tc.top, dir, tc.name, hash, tc.height, tc.events)
			t.Logf("%s: %d edges, %d segments, %d labels, page %dx%d px", tc.name, c.edges, c.segments, c.labels, c.width, c.height)
			if c.edges != tc.edges {
				t.Errorf("%d edges drawn, want %d", c.edges, tc.edges)
			}
			if c.labels < tc.labels {
				t.Errorf("%d labels checked, want at least %d", c.labels, tc.labels)
			}
			if c.oblique != 0 {
				t.Errorf("%d edge segments are neither horizontal nor vertical", c.oblique)
			}
			if c.crossings != 0 {
				t.Errorf("%d edge segments cross a label:\n%s", c.crossings, c.detail)
			}
			for _, w := range tc.want {
				if !strings.Contains(dom, w) {
					t.Errorf("page lacks %s", w)
				}
			}
		})
	}
	t.Run("straight lines fail", func(t *testing.T) {
		t.Parallel()
		_, c := loadPage(t, labTopology(t), dir, "lab-straight", "#check-straight", 800, "")
		if c.crossings == 0 {
			t.Errorf("straight lines between centres crossed no label: the check sees nothing")
		}
	})
}

// testHTMLInChromium loads the page of the live lab in headless Chromium
// and checks that the drawn DOM holds every bridge and port of the lab and
// that no edge crosses a label, then keeps a screenshot.
func testHTMLInChromium(t *testing.T, top *Topology, l *lab.Lab) {
	dir := artifactDir(t)
	dom, c := loadPage(t, top, dir, "topology", "#check", 1200, "")
	want := []string{
		`data-bridge="wire"`, `data-bridge="virbr6"`,
		`data-link="` + l.Netns("hyper1") + `/vnet0" data-port="vnet0"`,
		`data-link="` + l.Netns("hyper2") + `/vnet0" data-port="vnet0"`,
		`data-link="` + l.Netns("hyper2") + `/vnet1" data-port="vnet1"`,
		">bridge wire<", ">bridge virbr6<",
		`data-veth=`, // at least one wire drawn
	}
	for _, w := range want {
		if !strings.Contains(dom, w) {
			t.Errorf("rendered page lacks %s", w)
		}
	}
	for _, h := range l.Hosts() {
		if !strings.Contains(dom, ">netns "+l.Netns(h)+"<") {
			t.Errorf("rendered page lacks namespace %s", l.Netns(h))
		}
	}
	if c.crossings != 0 || c.oblique != 0 {
		t.Errorf("%d edge segments cross a label, %d are oblique:\n%s", c.crossings, c.oblique, c.detail)
	}
	if t.Failed() {
		os.WriteFile(filepath.Join(dir, "dom.html"), []byte(dom), 0o644)
	}
}
