// Package fleet reaches many hosts at once over SSH and discovers their
// topology: at most [Options.Parallel] hosts are connected and discovered
// at a time, each jump host is connected once and shared by every host
// behind it (inside this process, through [client.Client.ShareHops]), and
// the connections stay open for the next round, which a live page polls.
package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/remotebin"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/topo"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// DefaultParallel is how many hosts are connected and discovered at once
// when [Options.Parallel] is 0 (docs/scale.md).
const DefaultParallel = 32

// Options configure a [Fleet].
type Options struct {
	// Client returns the ssh client for one target, as `jumpgate ssh
	// TARGET` with the command line's connection flags would make it.
	Client func(target string) (*client.Client, error)
	// Parallel bounds the hosts connected and discovered at once; 0 is
	// [DefaultParallel].
	Parallel int
	// Netns, when not "", keeps only the namespaces whose name matches
	// this glob on every host (see [topo.KeepNamespaces]).
	Netns string
	// Log receives what a host's client logged (its failure in ssh(1)'s
	// words, and -v's lines), each line prefixed with the target; nil
	// drops it.
	Log io.Writer
}

// Fleet holds the connections to a fleet's hosts and jump hosts.
type Fleet struct {
	o   Options
	ctx context.Context // for the jump hosts' connections, shared by all

	mu    sync.Mutex
	hops  map[string]*hop
	hosts map[string]*dial.Conn // kept for the next round
	logMu sync.Mutex
}

// hop is one jump host's connection, dialled once.
type hop struct {
	ready chan struct{} // closed once conn or err is set
	conn  *dial.Conn
	err   error
	dead  chan struct{} // closed when conn ends
}

// New returns a fleet whose jump-host connections live until ctx ends or
// [Fleet.Close].
func New(ctx context.Context, o Options) *Fleet {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	return &Fleet{o: o, ctx: ctx, hops: map[string]*hop{}, hosts: map[string]*dial.Conn{}}
}

// Close closes every connection.
func (f *Fleet) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, c := range f.hosts {
		c.Close()
		delete(f.hosts, k)
	}
	for k, h := range f.hops {
		select {
		case <-h.ready:
			if h.conn != nil {
				h.conn.Close()
			}
		default: // a dial still running ends with f.ctx
		}
		delete(f.hops, k)
	}
	return nil
}

// Discover discovers every target's topology, at most Parallel at once,
// and joins them. A target that cannot be reached or discovered is in the
// result with its error.
func (f *Fleet) Discover(ctx context.Context, targets []string) *topo.Fleet {
	f.forgetFailedHops()
	hosts := make([]topo.FleetHost, len(targets))
	sem := make(chan struct{}, f.o.Parallel)
	var wg sync.WaitGroup
	for i, target := range targets {
		hosts[i].Name = target
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				hosts[i].Error = ctx.Err().Error()
				return
			}
			defer func() { <-sem }()
			t, err := f.discover(ctx, target)
			if err != nil {
				hosts[i].Error = err.Error()
				return
			}
			topo.KeepNamespaces(t, f.o.Netns)
			hosts[i].Topology = t
		}()
	}
	wg.Wait()
	return topo.Join(hosts)
}

// discover discovers one target, on its kept connection when it has one
// (redialling once if that connection has died).
func (f *Fleet) discover(ctx context.Context, target string) (*topo.Topology, error) {
	for attempt := 0; ; attempt++ {
		conn, kept, err := f.conn(ctx, target)
		if err != nil {
			return nil, err
		}
		t, err := topo.DiscoverRemote(ctx, client.Shell(conn))
		if err != nil && kept && attempt == 0 && ctx.Err() == nil {
			f.drop(target, conn)
			continue
		}
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}

// Run runs cmd with the far user's shell on target, on its kept
// connection (dialled if there is none), with stdin, and returns its
// standard output; a failure carries its standard error.
func (f *Fleet) Run(ctx context.Context, target, cmd string, stdin io.Reader) ([]byte, error) {
	conn, _, err := f.conn(ctx, target)
	if err != nil {
		return nil, err
	}
	return remotebin.Output(ctx, conn.Conn, cmd, stdin)
}

// conn returns target's kept connection, or dials it.
func (f *Fleet) conn(ctx context.Context, target string) (*dial.Conn, bool, error) {
	f.mu.Lock()
	c := f.hosts[target]
	f.mu.Unlock()
	if c != nil {
		return c, true, nil
	}
	r, err := f.o.Client(target)
	if err != nil {
		return nil, false, err
	}
	r.ShareHops(f.via)
	var logb bytes.Buffer
	r.LogTo(&logb)
	c, _, err = r.DialDest(ctx)
	f.log(target, logb.String())
	if err != nil {
		return nil, false, clientError(err, logb.String())
	}
	f.mu.Lock()
	if old := f.hosts[target]; old != nil {
		c.Close() // the same target twice in one round
		c = old
	} else {
		f.hosts[target] = c
	}
	f.mu.Unlock()
	return c, false, nil
}

func (f *Fleet) drop(target string, c *dial.Conn) {
	f.mu.Lock()
	if f.hosts[target] == c {
		delete(f.hosts, target)
	}
	f.mu.Unlock()
	c.Close()
}

// clientError is the client's failure in its own words: the last line it
// logged (ssh(1)'s message), else err.
func clientError(err error, logged string) error {
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(logged, "\r", "")), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return errors.New(last)
	}
	return err
}

func (f *Fleet) log(target, text string) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r", ""))
	if f.o.Log == nil || text == "" {
		return
	}
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(&b, "%s: %s\n", target, line)
	}
	f.logMu.Lock()
	defer f.logMu.Unlock()
	io.WriteString(f.o.Log, b.String())
}

// via is the clients' way through a jump host: a direct-tcpip channel of
// the jump host's one connection, dialled by the first host that needs it
// while the others wait. A connection found dead is dialled again once.
func (f *Fleet) via(ctx context.Context, d *dial.Dialer, h *sshconf.Host, addr string) (net.Conn, error) {
	key := hopKey(h)
	for attempt := 0; ; attempt++ {
		e := f.hop(d, h, key)
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			return nil, e.err
		}
		c, err := sshwire.Dial(ctx, e.conn.Conn, "tcp", addr)
		if err == nil {
			return c, nil
		}
		select {
		case <-e.dead:
			f.forgetHop(key, e)
			if attempt == 0 {
				continue
			}
		default:
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach %s from there: %s", addr, dial.OpenFailure(err))
	}
}

// hop returns the jump host's entry, starting its dial if there is none.
func (f *Fleet) hop(d *dial.Dialer, h *sshconf.Host, key string) *hop {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.hops[key]; e != nil {
		return e
	}
	e := &hop{ready: make(chan struct{}), dead: make(chan struct{})}
	f.hops[key] = e
	// The jump host's own dialer: it outlives the host that asked first,
	// so it logs to the fleet's log, not to that host's.
	hd := *d
	w := &prefixWriter{f: f, prefix: "jump host " + h.Original()}
	hd.Log = vlog.New(w, d.Log.Level())
	hd.Warn, hd.Stderr, hd.Banner = w, w, nil
	go func() {
		// The fleet's context, not the first host's: the connection
		// serves every host behind it.
		e.conn, e.err = hd.Dial(f.ctx, h)
		close(e.ready)
		if e.err != nil {
			close(e.dead)
			return
		}
		e.conn.Wait()
		close(e.dead)
	}()
	return e
}

func (f *Fleet) forgetHop(key string, e *hop) {
	f.mu.Lock()
	if f.hops[key] == e {
		delete(f.hops, key)
	}
	f.mu.Unlock()
}

// forgetFailedHops lets the next round try again the jump hosts that
// could not be reached in this one.
func (f *Fleet) forgetFailedHops() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, e := range f.hops {
		select {
		case <-e.ready:
			if e.err != nil {
				delete(f.hops, k)
			}
		default:
		}
	}
}

// prefixWriter sends what a jump host's dialer writes to the fleet's log.
type prefixWriter struct {
	f      *Fleet
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.f.log(w.prefix, string(p))
	return len(p), nil
}

// hopKey names a jump host by what its connection is: the same user,
// address and port reached the same way is the same connection.
func hopKey(h *sshconf.Host) string {
	return h.Get("user") + "@" + h.Hostname() + ":" + h.Get("port") +
		" jump=" + h.Get("proxyjump") + " command=" + h.Get("proxycommand")
}
