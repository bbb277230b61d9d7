package topo

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
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

// testHTMLInChromium loads the page of top in headless Chromium and checks
// that the drawn DOM holds every bridge and port of the lab, then keeps a
// screenshot.
func testHTMLInChromium(t *testing.T, top *Topology, l *lab.Lab) {
	browser := chromium(t)
	dir := artifactDir(t)
	page := filepath.Join(dir, "topology.html")
	var b bytes.Buffer
	if err := WriteHTML(&b, top, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	run := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--user-data-dir=" + profile, "--window-size=1400,1000"}
		cmd := exec.CommandContext(ctx, browser, append(append(base, args...), "file://"+page)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	dom := string(run("--dump-dom"))
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
	if t.Failed() {
		os.WriteFile(filepath.Join(dir, "dom.html"), []byte(dom), 0o644)
	}
	shot := filepath.Join(dir, "topology.png")
	run("--screenshot=" + shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 1000 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}
