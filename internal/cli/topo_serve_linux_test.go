package cli

// `jumpgate topo --serve`: the live page follows the network. The binary
// serves a test namespace's topology on loopback; a bridge added to that
// namespace must reach the page's event stream and be drawn by a page
// already open in headless Chromium, without a reload.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
	"github.com/jumpgate/jumpgate/internal/topo"
)

var servingRE = regexp.MustCompile(`serving the topology at http://([^/\s]+)/`)

// startTopoServe runs `jumpgate topo --serve :0 --netns PATTERN` and
// returns the address it serves on; the process ends (by its PID) in
// t.Cleanup.
func startTopoServe(t *testing.T, pattern string) string {
	t.Helper()
	cmd := exec.Command(labtest.Binary(t), "topo", "--serve", ":0", "--netns", pattern)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	lines := make(chan string, 16)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		cmd.Wait()
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("jumpgate topo --serve ended before serving")
			}
			if m := servingRE.FindStringSubmatch(l); m != nil {
				return m[1]
			}
			t.Logf("topo --serve: %s", l)
		case <-timeout:
			t.Fatal("jumpgate topo --serve did not say where it serves within 30s")
		}
	}
}

// TestTopoServeLive adds a bridge to a namespace while the page is open.
func TestTopoServeLive(t *testing.T) {
	t.Parallel()
	nstest.RequireRoot(t)
	b := make([]byte, 3)
	rand.Read(b)
	prefix := "ts" + hex.EncodeToString(b) + "-"
	ns := prefix + "a"
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })

	addr := startTopoServe(t, prefix+"*")
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("--serve :0 listens on %s, not on loopback", addr)
	}
	base := "http://" + addr + "/"

	// The model before the change: the namespace, no bridge.
	resp, err := http.Get(base + "topology.json")
	if err != nil {
		t.Fatal(err)
	}
	model, err := topo.ReadJSON(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := model.Namespace(ns); n == nil || n.Bridge("brlive") != nil {
		t.Fatalf("served model before the change: namespace %s = %+v", ns, n)
	}

	// The event stream, as the page reads it.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"events", nil)
	ev, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Body.Close() })
	if ct := ev.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("/events content type %q", ct)
	}
	events := make(chan *topo.Topology, 8)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(ev.Body)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			t, err := topo.ReadJSON(strings.NewReader(data))
			if err != nil {
				continue
			}
			events <- t
		}
	}()

	page := openPage(t, base)
	page.waitTrue(t, fmt.Sprintf(`document.body.textContent.includes("netns %s")`, ns), "the page draws namespace "+ns)
	page.eval(t, `window.jgMarker = "still the same page"`)
	if page.evalBool(t, `document.querySelector('[data-bridge="brlive"]') !== null`) {
		t.Fatal("the page shows brlive before it exists")
	}

	for _, args := range [][]string{{"link", "add", "brlive", "type", "bridge"}, {"link", "set", "brlive", "up"}} {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}

	deadline := time.After(15 * time.Second)
wait:
	for {
		select {
		case m, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if n := m.Namespace(ns); n != nil && n.Bridge("brlive") != nil {
				break wait
			}
		case <-deadline:
			t.Fatal("no event carrying bridge brlive within 15s of adding it")
		}
	}
	page.waitTrue(t, `document.querySelector('[data-bridge="brlive"]') !== null && window.jgMarker === "still the same page"`,
		"the open page draws brlive without a reload")
	page.screenshot(t, "topo-live.png")
}

// cdpPage is a page in headless Chromium, driven over the DevTools
// protocol on --remote-debugging-pipe (fd 3 in, fd 4 out, messages ending
// in NUL): no websocket and no port to share.
type cdpPage struct {
	w       io.Writer
	session string

	mu      sync.Mutex
	nextID  int
	waiters map[int]chan cdpReply
}

type cdpReply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func openPage(t *testing.T, url string) *cdpPage {
	t.Helper()
	var browser string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("chromium is not installed (scripts/deps.sh installs it)")
	}
	inR, inW, err := os.Pipe() // commands: we write, chromium reads fd 3
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe() // replies: chromium writes fd 4
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--window-size=1200,900", "--remote-debugging-pipe", url)
	cmd.ExtraFiles = []*os.File{inR, outW}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		inW.Close()
		cmd.Process.Kill()
		<-exited
		outR.Close()
		if t.Failed() {
			t.Logf("chromium's stderr:\n%s", stderr.String())
		}
	})
	p := &cdpPage{w: inW, waiters: map[int]chan cdpReply{}}
	go p.read(outR)

	var targets struct {
		TargetInfos []struct {
			TargetID string `json:"targetId"`
			Type     string `json:"type"`
			URL      string `json:"url"`
		} `json:"targetInfos"`
	}
	deadline := time.Now().Add(30 * time.Second)
	var target string
	for target == "" {
		p.call(t, "Target.getTargets", nil, &targets)
		for _, ti := range targets.TargetInfos {
			if ti.Type == "page" && strings.HasPrefix(ti.URL, url) {
				target = ti.TargetID
			}
		}
		if target == "" {
			if time.Now().After(deadline) {
				t.Fatalf("chromium opened no page for %s: %+v", url, targets)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	p.call(t, "Target.attachToTarget", map[string]any{"targetId": target, "flatten": true}, &att)
	p.session = att.SessionID
	return p
}

func (p *cdpPage) read(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var rep cdpReply
		if json.Unmarshal(msg[:len(msg)-1], &rep) != nil || rep.ID == 0 {
			continue // an event
		}
		p.mu.Lock()
		ch := p.waiters[rep.ID]
		delete(p.waiters, rep.ID)
		p.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

func (p *cdpPage) call(t *testing.T, method string, params any, result any) {
	t.Helper()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	ch := make(chan cdpReply, 1)
	p.waiters[id] = ch
	p.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if p.session != "" {
		msg["sessionId"] = p.session
	}
	b, _ := json.Marshal(msg)
	if _, err := p.w.Write(append(b, 0)); err != nil {
		t.Fatalf("cdp %s: %v", method, err)
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			t.Fatalf("cdp %s: %s", method, rep.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(rep.Result, result); err != nil {
				t.Fatalf("cdp %s: %v", method, err)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("cdp %s: no reply within 30s", method)
	}
}

// eval runs JavaScript in the page and returns its value as JSON.
func (p *cdpPage) eval(t *testing.T, expr string) json.RawMessage {
	t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	p.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		t.Fatalf("evaluate %s: %s", expr, res.ExceptionDetails.Text)
	}
	return res.Result.Value
}

func (p *cdpPage) evalBool(t *testing.T, expr string) bool {
	t.Helper()
	return string(p.eval(t, expr)) == "true"
}

func (p *cdpPage) waitTrue(t *testing.T, expr, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	// Until the page has loaded, document.body may not exist yet.
	guarded := "(function () { try { return !!(" + expr + "); } catch (e) { return false; } })()"
	for !p.evalBool(t, guarded) {
		if time.Now().After(deadline) {
			p.screenshot(t, "topo-live-failed.png")
			t.Fatalf("%s: not within 15s (%s)", what, expr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot keeps a PNG of the page in $JUMPGATE_ARTIFACTS (or the
// test's temp dir).
func (p *cdpPage) screenshot(t *testing.T, name string) {
	t.Helper()
	var shot struct {
		Data string `json:"data"`
	}
	p.call(t, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	dir := os.Getenv("JUMPGATE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
