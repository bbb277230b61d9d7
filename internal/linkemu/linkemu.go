// Package linkemu is a small userspace link emulator: it joins two network
// interfaces (usually one end each of two veth pairs, possibly in different
// network namespaces) through AF_PACKET sockets and carries every frame
// across with a fixed one-way delay, random loss and a rate limit, in both
// directions. jumpgate uses it where the kernel has no netem.
//
// Flow, per direction: read a frame from the source socket → drop it with
// probability Loss → give it a departure time (serialised at Rate, then
// Delay later) → queue (tail drop past QueueLimit) → a writer sleeps until
// the departure time and sends it out of the other socket.
package linkemu

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Port is one side of the emulated link.
type Port struct {
	// Netns is the path of the network namespace the interface is in
	// (/run/netns/NAME); empty is the emulator's own.
	Netns string
	// Ifname is the interface whose frames are carried.
	Ifname string
}

// Config is one emulated link.
type Config struct {
	A, B Port
	// Delay is added to every frame, in each direction.
	Delay time.Duration
	// Loss is the percentage of frames dropped, in each direction.
	Loss float64
	// Rate caps each direction, in bits per second; 0 is unlimited.
	Rate uint64
	// QueueLimit is how many frames may wait in each direction before
	// new ones are dropped; 0 means 1000.
	QueueLimit int
	// ID names the link in the emulator's command line, so a process can
	// be recognised before it is signalled.
	ID string
}

func (c Config) queueLimit() int {
	if c.QueueLimit <= 0 {
		return 1000
	}
	return c.QueueLimit
}

// Validate reports a configuration the emulator cannot run.
func (c Config) Validate() error {
	switch {
	case c.A.Ifname == "" || c.B.Ifname == "":
		return errors.New("link emulator: both interfaces are needed")
	case c.Delay < 0 || c.Delay > time.Minute:
		return fmt.Errorf("link emulator: delay %v out of range", c.Delay)
	case c.Loss < 0 || c.Loss > 100 || c.Loss != c.Loss:
		return fmt.Errorf("link emulator: loss %v%% out of range", c.Loss)
	}
	return nil
}

// Args encodes c as command-line flags, as [ParseArgs] reads them.
func (c Config) Args() []string {
	args := []string{
		"--id", c.ID,
		"--a-netns", c.A.Netns, "--a-if", c.A.Ifname,
		"--b-netns", c.B.Netns, "--b-if", c.B.Ifname,
		"--delay", c.Delay.String(),
		"--loss", strconv.FormatFloat(c.Loss, 'g', -1, 64),
		"--rate", strconv.FormatUint(c.Rate, 10),
	}
	if c.QueueLimit > 0 {
		args = append(args, "--queue", strconv.Itoa(c.QueueLimit))
	}
	return args
}

// ParseArgs decodes the flags [Config.Args] writes.
func ParseArgs(args []string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("link-emu", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.ID, "id", "", "link id")
	fs.StringVar(&c.A.Netns, "a-netns", "", "namespace path of side A")
	fs.StringVar(&c.A.Ifname, "a-if", "", "interface of side A")
	fs.StringVar(&c.B.Netns, "b-netns", "", "namespace path of side B")
	fs.StringVar(&c.B.Ifname, "b-if", "", "interface of side B")
	fs.DurationVar(&c.Delay, "delay", 0, "one-way delay")
	fs.Float64Var(&c.Loss, "loss", 0, "loss percentage")
	fs.Uint64Var(&c.Rate, "rate", 0, "rate in bit/s")
	fs.IntVar(&c.QueueLimit, "queue", 0, "queue limit in frames")
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("link emulator: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("link emulator: unexpected argument %q", fs.Arg(0))
	}
	return c, c.Validate()
}
