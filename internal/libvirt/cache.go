package libvirt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultTTL is how long a domain's address is trusted: long enough that a
// burst of connections (rsync, git, scp loops) asks libvirt once, short
// enough that a guest that moved to a new lease is found again soon.
const DefaultTTL = 60 * time.Second

// Cache remembers domains' addresses in small files under Dir (0700, files
// 0600), one per hypervisor and domain, so that separate jumpgate
// processes share them.
type Cache struct {
	Dir string
	TTL time.Duration    // 0 is DefaultTTL
	Now func() time.Time // nil is time.Now
}

// CacheDir is where [Cache] keeps its files: $XDG_RUNTIME_DIR/jumpgate/libvirt
// (a per-user tmpfs), else ~/.cache/jumpgate/libvirt.
func CacheDir(getenv func(string) string, home string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "jumpgate", "libvirt")
	}
	return filepath.Join(home, ".cache", "jumpgate", "libvirt")
}

func (c *Cache) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:12]))
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns the address stored for key if it is younger than the TTL.
func (c *Cache) Get(key string) (netip.Addr, bool) {
	if c == nil || c.Dir == "" {
		return netip.Addr{}, false
	}
	p := c.path(key)
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return netip.Addr{}, false
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if age := c.now().Sub(fi.ModTime()); age < 0 || age > ttl {
		return netip.Addr{}, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return netip.Addr{}, false
	}
	// The file holds the key too, so that a hash collision (or a file
	// someone else wrote) is a miss, not a wrong address.
	k, v, ok := strings.Cut(string(b), "\n")
	if !ok || k != key {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		return netip.Addr{}, false
	}
	return a, true
}

// Put stores addr for key, replacing the file atomically.
func (c *Cache) Put(key string, addr netip.Addr) error {
	if c == nil || c.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("address cache: %w", err)
	}
	f, err := os.CreateTemp(c.Dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("address cache: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s\n%s\n", key, addr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		now := c.now()
		err = os.Chtimes(f.Name(), now, now)
	}
	if err == nil {
		err = os.Rename(f.Name(), c.path(key))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("address cache: %w", err)
	}
	return nil
}

// Forget removes key, after its address turned out to be stale.
func (c *Cache) Forget(key string) {
	if c == nil || c.Dir == "" {
		return
	}
	os.Remove(c.path(key)) // a file already gone is what was asked
}

// Resolver finds domains' addresses on hypervisors, through a cache.
type Resolver struct {
	Cache *Cache
	URI   string // "" is DefaultURI
}

// Resolve returns domain's address on the hypervisor named host (key
// identifies it in the cache: user, address and port). connect is called
// only when the cache cannot answer and returns a Runner on the
// hypervisor.
func (r *Resolver) Resolve(ctx context.Context, host, key, domain string, connect func(context.Context) (Runner, error)) (netip.Addr, error) {
	ckey := key + " " + r.URI + " " + domain
	if a, ok := r.Cache.Get(ckey); ok {
		return a, nil
	}
	run, err := connect(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	c := &Client{Run: run, Host: host, URI: r.URI}
	a, err := c.Address(ctx, domain)
	if err != nil {
		return netip.Addr{}, err
	}
	r.Cache.Put(ckey, a) // a cache that cannot be written only costs time
	return a, nil
}
