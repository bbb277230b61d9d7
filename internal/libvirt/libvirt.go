// Package libvirt asks a hypervisor's libvirt about its domains through
// libvirt's own command-line tool, virsh, run over an SSH exec channel: a
// domain's address (guest agent, then DHCP leases, then ARP, as
// `virsh domifaddr --source` offers them), the domains that exist, and a
// domain's Spice or VNC display. Nothing is installed on the hypervisor.
package libvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/jumpgate/jumpgate/internal/shquote"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// DefaultURI is the libvirt connection virsh is pointed at: the system
// daemon, where virt-manager and virt-install put their domains (a plain
// `virsh` run by a user other than root would look at qemu:///session).
const DefaultURI = "qemu:///system"

// Runner runs a shell command line on the hypervisor and returns its
// standard output; a failed command's error carries its standard error.
type Runner func(ctx context.Context, cmd string) ([]byte, error)

// CommandError is a command that ran on the hypervisor and failed.
type CommandError struct {
	Cmd    string
	Status int // exit status, -1 if unknown
	Stderr string
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.Status)
	}
	return msg
}

// NotFound reports whether the shell could not find the command.
func (e *CommandError) NotFound() bool { return e.Status == 127 }

// SSHRunner runs commands through exec channels of c (RFC 4254 6.5).
// Ending ctx closes the channel.
func SSHRunner(c sshwire.Conn) Runner {
	return func(ctx context.Context, cmd string) ([]byte, error) {
		s, err := sshwire.NewSession(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("open session: %w", err)
		}
		defer s.Close()
		stop := context.AfterFunc(ctx, func() { s.Close() })
		defer stop()
		var out, errb bytes.Buffer
		s.Stdout, s.Stderr = &out, &errb
		err = s.Run(cmd)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			ce := &CommandError{Cmd: cmd, Status: -1, Stderr: errb.String()}
			var ee *sshwire.ExitError
			if errors.As(err, &ee) {
				ce.Status = ee.ExitStatus()
			} else if errb.Len() == 0 {
				ce.Stderr = err.Error()
			}
			return nil, ce
		}
		return out.Bytes(), nil
	}
}

// Client asks one hypervisor's libvirt.
type Client struct {
	Run Runner
	// Host names the hypervisor in errors.
	Host string
	// URI is the libvirt connection; "" is [DefaultURI].
	URI string
}

// virsh runs virsh with args, each quoted for a POSIX shell, in the C
// locale so that its tables read the same everywhere.
func (c *Client) virsh(ctx context.Context, args ...string) ([]byte, error) {
	out, err := c.Run(ctx, c.virshLine(args...))
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && ce.NotFound() {
			return nil, fmt.Errorf("libvirt on %s: virsh not found (install libvirt-clients there): %w", c.Host, err)
		}
		return nil, err
	}
	return out, nil
}

func (c *Client) virshLine(args ...string) string {
	uri := c.URI
	if uri == "" {
		uri = DefaultURI
	}
	var b strings.Builder
	b.WriteString("env LC_ALL=C virsh -q -c " + shquote.Quote(uri))
	for _, a := range args {
		b.WriteString(" " + shquote.Quote(a))
	}
	return b.String()
}

// Sources are domifaddr's address sources in the order they are asked.
var Sources = []string{"agent", "lease", "arp"}

// DomainError is a domain that cannot be reached: it does not exist, is
// not running, or has no address libvirt knows of.
type DomainError struct {
	Host    string
	Domain  string
	State   string   // "" when no domain of that name exists
	Domains []Domain // every domain on the hypervisor
	Err     error    // the last virsh error, if any
}

func (e *DomainError) Error() string {
	var b strings.Builder
	switch {
	case e.State == "":
		fmt.Fprintf(&b, "no libvirt domain %q on %s", e.Domain, e.Host)
	case e.State != "running":
		fmt.Fprintf(&b, "libvirt domain %q on %s is %s", e.Domain, e.Host, e.State)
	default:
		fmt.Fprintf(&b, "libvirt domain %q on %s has no address libvirt knows of (guest agent, DHCP lease or ARP)", e.Domain, e.Host)
		if e.Err != nil {
			fmt.Fprintf(&b, ": %v", e.Err)
		}
	}
	if len(e.Domains) == 0 {
		b.WriteString("; it has no domains")
		return b.String()
	}
	b.WriteString("; domains there: ")
	for i, d := range e.Domains {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", d.Name, d.State)
	}
	return b.String()
}

func (e *DomainError) Unwrap() error { return e.Err }

// Domains lists every domain, running or not.
func (c *Client) Domains(ctx context.Context) ([]Domain, error) {
	out, err := c.virsh(ctx, "list", "--all")
	if err != nil {
		return nil, fmt.Errorf("libvirt on %s: list domains: %w", c.Host, err)
	}
	return ParseList(string(out))
}

// Address asks libvirt for an address of domain, trying [Sources] in
// order. A domain that is missing, stopped or without a known address is
// a [*DomainError] listing the domains that exist.
func (c *Client) Address(ctx context.Context, domain string) (netip.Addr, error) {
	var last error
	for _, src := range Sources {
		out, err := c.virsh(ctx, "domifaddr", "--source", src, "--domain", domain)
		if err != nil {
			if ctx.Err() != nil {
				return netip.Addr{}, ctx.Err()
			}
			var ce *CommandError
			if !errors.As(err, &ce) || ce.NotFound() {
				return netip.Addr{}, err
			}
			last = err
			continue
		}
		addrs, err := ParseDomIfAddr(string(out))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("libvirt on %s: %w", c.Host, err)
		}
		if a, ok := PickAddr(addrs); ok {
			return a, nil
		}
	}
	return netip.Addr{}, c.domainError(ctx, domain, last)
}

func (c *Client) domainError(ctx context.Context, domain string, last error) error {
	doms, err := c.Domains(ctx)
	if err != nil {
		if last != nil {
			return fmt.Errorf("libvirt on %s: domain %s: %w", c.Host, domain, last)
		}
		return err
	}
	e := &DomainError{Host: c.Host, Domain: domain, Domains: doms, Err: last}
	for _, d := range doms {
		if d.Name == domain {
			e.State = d.State
		}
	}
	return e
}

// Display finds domain's Spice or VNC display: `virsh domdisplay`, or
// when that has nothing, the <graphics> of the running domain's XML.
func (c *Client) Display(ctx context.Context, domain string) (Display, error) {
	out, err := c.virsh(ctx, "domdisplay", "--domain", domain)
	if err == nil {
		if d, perr := ParseDomDisplay(string(out)); perr == nil {
			return d, nil
		}
	}
	xmlOut, xerr := c.virsh(ctx, "dumpxml", "--domain", domain)
	if xerr != nil {
		if ctx.Err() != nil {
			return Display{}, ctx.Err()
		}
		return Display{}, c.domainError(ctx, domain, xerr)
	}
	ds, perr := ParseGraphicsXML(xmlOut)
	if perr != nil {
		return Display{}, fmt.Errorf("libvirt on %s: domain %s: %w", c.Host, domain, perr)
	}
	if len(ds) == 0 {
		doms, _ := c.Domains(ctx)
		for _, d := range doms {
			if d.Name == domain && d.State != "running" {
				return Display{}, &DomainError{Host: c.Host, Domain: domain, State: d.State, Domains: doms}
			}
		}
		return Display{}, fmt.Errorf("libvirt on %s: domain %s: %w", c.Host, domain, ErrNoDisplay)
	}
	return ds[0], nil
}
