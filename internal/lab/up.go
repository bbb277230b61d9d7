package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrNotRoot is returned by [Up] when the process is not root: namespaces,
// links and mounts need it.
var ErrNotRoot = errors.New("a lab needs root (network namespaces, links and mounts)")

// Up builds a lab: it first clears what is left of a lab with the same name
// (after a crash, say), then creates the namespaces, links, keys and
// configuration, and starts an SSH server on every host but the laptop,
// returning once all of them accept connections. If any step fails, what
// was made so far is removed.
func Up(ctx context.Context, o Options) (*Lab, error) {
	began := time.Now()
	if err := o.fill(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if err := clearLeftovers(ctx, o); err != nil {
		return nil, err
	}
	l := &Lab{
		dir:    o.StateDir,
		log:    o.Log,
		exited: map[int]chan struct{}{},
		m: manifest{
			Name: o.Name, Server: o.Server.String(), StateDir: o.StateDir,
			Created: time.Now().UTC().Truncate(time.Second),
		},
	}
	dirs, err := mkdirParents(filepath.Dir(o.StateDir))
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(o.StateDir, 0o700); err != nil {
		removeEmpty(dirs)
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	l.m.Dirs = dirs
	if err := l.save(); err != nil {
		os.RemoveAll(o.StateDir)
		removeEmpty(dirs)
		return nil, err
	}
	if err := l.build(ctx, o); err != nil {
		derr := l.Down(context.WithoutCancel(ctx))
		return nil, errors.Join(fmt.Errorf("lab %s up: %w", o.Name, err), derr)
	}
	l.logf("lab %s: up in %v (state in %s)", o.Name, time.Since(began).Round(time.Millisecond), o.StateDir)
	return l, nil
}

func (l *Lab) build(ctx context.Context, o Options) error {
	t := time.Now()
	if err := l.createNamespaces(); err != nil {
		return err
	}
	if err := l.wire(); err != nil {
		return err
	}
	l.logf("lab %s: %d namespaces wired in %v", o.Name, len(l.m.Hosts), time.Since(t).Round(time.Millisecond))
	t = time.Now()
	if err := l.writeCredentials(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.startServers(ctx, o.Server, o.Binary); err != nil {
		return err
	}
	l.logf("lab %s: %d %s servers accepting in %v", o.Name, len(l.m.Servers), o.Server, time.Since(t).Round(time.Millisecond))
	if o.Libvirt {
		if err := l.startLibvirt(ctx, o.Binary); err != nil {
			return err
		}
	}
	l.m.Ready = true
	return l.save()
}

// clearLeftovers removes a lab with the same name: the one its manifest
// describes, and any namespace bearing one of its host names.
func clearLeftovers(ctx context.Context, o Options) error {
	old, err := Open(o.Name, o.StateDir)
	switch {
	case err == nil:
		fmt.Fprintf(o.Log, "lab %s: clearing what is left of an earlier lab %s\n", o.Name, o.Name)
		old.SetLog(o.Log)
		if err := old.Down(ctx); err != nil {
			return fmt.Errorf("clear earlier lab %s: %w", o.Name, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if ents, rerr := os.ReadDir(o.StateDir); rerr == nil && len(ents) > 0 {
			return fmt.Errorf("state dir %s exists and holds no lab manifest; not touching it", o.StateDir)
		}
		if rerr := os.Remove(o.StateDir); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("state dir %s: %w", o.StateDir, rerr)
		}
	default:
		return err
	}
	var stray []hostRecord
	for _, h := range topology() {
		name := netnsName(o.Name, h.name)
		p := filepath.Join(netnsDir, name)
		if _, err := os.Stat(p); err == nil {
			stray = append(stray, hostRecord{Name: h.name, Netns: name, NetnsPath: p})
		}
	}
	if len(stray) == 0 {
		return nil
	}
	fmt.Fprintf(o.Log, "lab %s: removing %d stray namespaces named for this lab\n", o.Name, len(stray))
	l := &Lab{log: o.Log, exited: map[int]chan struct{}{}, m: manifest{Name: o.Name, Hosts: stray}}
	return l.teardown(ctx)
}

// mkdirParents creates dir and its missing parents (0755), returning the
// ones it created, deepest last.
func mkdirParents(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append([]string{d}, missing...)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			removeEmpty(missing[:i])
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	return missing, nil
}

// removeEmpty removes dirs, deepest first, where they are empty; another
// lab may still be using a shared parent.
func removeEmpty(dirs []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, as it should, when not empty
	}
}
