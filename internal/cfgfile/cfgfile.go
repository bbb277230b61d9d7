// Package cfgfile reads configuration files whole (ssh_config, network
// files, firewall policies) with a size limit and, from the real file
// system, in a way a cancelled context interrupts: a FIFO without a
// writer blocks open(2), and /dev/zero never ends.
package cfgfile

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// Limit is the most read from one configuration file: far above any
// hand-written or generated file (40,000 Host blocks fit), far below what
// parsing would need hundreds of MB for.
const Limit = 4 << 20

// TooLargeError says a file passed [Limit].
type TooLargeError struct {
	Name  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: larger than %d MiB, the most jumpgate reads from one configuration file; "+
		"split it into smaller files (ssh_config: Include) or trim it", e.Name, e.Limit>>20)
}

// ReadAll reads r to its end, failing with a [*TooLargeError] naming name
// past [Limit].
func ReadAll(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, Limit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > Limit {
		return nil, &TooLargeError{Name: name, Limit: Limit}
	}
	return b, nil
}

// Read reads the file at name as [ReadAll] does; ctx's end stops a wait
// for a FIFO's writer or a read that does not end.
func Read(ctx context.Context, name string) ([]byte, error) {
	f, err := open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, name)
}

// FS is the root file system (names are absolute, or relative to "/" as
// fs.FS requires) whose Open and Read return ctx's error once ctx ends.
func FS(ctx context.Context) fs.FS { return rootFS{ctx} }

type rootFS struct{ ctx context.Context }

func (r rootFS) path(name string) string {
	if path.IsAbs(name) {
		return name
	}
	return "/" + name
}

func (r rootFS) Open(name string) (fs.File, error) {
	f, err := open(r.ctx, r.path(name))
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return f, nil
}

// open runs open(2) aside: it blocks on a FIFO until a writer comes, and
// only a signal's default action would end it.
func open(ctx context.Context, name string) (*ctxFile, error) {
	type res struct {
		f   *os.File
		err error
	}
	c := make(chan res, 1)
	go func() {
		f, err := os.Open(name)
		c <- res{f, err}
	}()
	select {
	case x := <-c:
		if x.err != nil {
			return nil, x.err
		}
		// A FIFO's read waits in the poller: a deadline ends it.
		stop := context.AfterFunc(ctx, func() { x.f.SetReadDeadline(time.Now()) })
		return &ctxFile{File: x.f, ctx: ctx, stop: stop}, nil
	case <-ctx.Done():
		go func() {
			if x := <-c; x.f != nil {
				x.f.Close()
			}
		}()
		return nil, &fs.PathError{Op: "open", Path: name, Err: ctx.Err()}
	}
}

func (r rootFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(r.path(name)) }

func (r rootFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(r.path(name)) }

// ctxFile checks ctx before each read: reads of files that end (or are
// cut by [Limit]) come back without blocking for long.
type ctxFile struct {
	*os.File
	ctx  context.Context
	stop func() bool
}

func (f *ctxFile) Close() error {
	f.stop()
	return f.File.Close()
}

func (f *ctxFile) Read(p []byte) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := f.File.Read(p)
	if err != nil && f.ctx.Err() != nil {
		err = f.ctx.Err()
	}
	return n, err
}
