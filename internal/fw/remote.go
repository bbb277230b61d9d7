package fw

// A fleet's rules: printed one section per host, installed on each host
// through an SSH exec channel with `nft -f -` (nothing else is needed
// there), in one transaction as [Apply] makes locally.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/jumpgate/jumpgate/internal/shquote"
)

// Runner runs cmd with the far user's shell on one host, with stdin, and
// returns its standard output; a failure carries its standard error.
type Runner func(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error)

// ApplyRemote installs rs on a host through run: one `nft -f -` script
// that adds our table, deletes it and builds it again, which nft sends
// as one transaction, so the host goes from its old rules to the new at
// once or keeps the old ones. Other tables are not touched.
func ApplyRemote(ctx context.Context, run Runner, rs *Ruleset) error {
	script := fmt.Sprintf("add table bridge %s\ndelete table bridge %s\n%s", TableName, TableName, rs.Text())
	if _, err := run(ctx, "nft -f -", strings.NewReader(script)); err != nil {
		return fmt.Errorf("nft -f - on the host: %w", err)
	}
	return nil
}

// flushScript deletes our table if the host has one, and says so.
const flushScript = `set -e
t=$(nft list tables bridge)
if printf '%s\n' "$t" | grep -qx 'table bridge ` + TableName + `'; then
	nft delete table bridge ` + TableName + `
	echo removed
fi`

// FlushRemote removes our table on a host through run, and only it. It
// reports whether there was one.
func FlushRemote(ctx context.Context, run Runner) (bool, error) {
	out, err := run(ctx, "sh -c "+shquote.Quote(flushScript), nil)
	if err != nil {
		return false, fmt.Errorf("nft on the host: %w", err)
	}
	return strings.TrimSpace(string(out)) == "removed", nil
}

// WritePlans writes one section per host to out, each opened by a
// "# host NAME" comment and holding the host's rule set (or, with
// policy, its policy) as `fw plan` prints one host's; a host without
// rules has its error on that line instead. Warnings and summaries go
// to log, each line naming its host.
func WritePlans(out, log io.Writer, plans []HostPlan, policy bool) error {
	var b strings.Builder
	for i, hp := range plans {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, w := range hp.Warnings {
			fmt.Fprintf(log, "jumpgate: warning: %s: %s\n", hp.Host, w)
		}
		if hp.Err != nil {
			fmt.Fprintf(&b, "# host %s: %s\n", hp.Host, oneLine(hp.Err))
			continue
		}
		fmt.Fprintf(&b, "# host %s\n", hp.Host)
		if policy {
			b.Write(hp.Policy.Encode())
		} else {
			b.WriteString(hp.Rules.Text())
			fmt.Fprintf(log, "%s: %s\n", hp.Host, hp.Rules.Summary)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// Exec runs cmd on host as a [Runner] does.
type Exec func(ctx context.Context, host, cmd string, stdin io.Reader) ([]byte, error)

func (x Exec) on(host string) Runner {
	return func(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error) {
		return x(ctx, host, cmd, stdin)
	}
}

// ApplyFleet installs every planned host's rules at once, each through
// run, and reports per host to log. A host whose rules could not be
// installed gets the error in its plan.
func ApplyFleet(ctx context.Context, plans []HostPlan, run Exec, log io.Writer) {
	var wg sync.WaitGroup
	for i := range plans {
		hp := &plans[i]
		if hp.Err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			hp.Err = ApplyRemote(ctx, run.on(hp.Host), hp.Rules)
		}()
	}
	wg.Wait()
	for _, hp := range plans {
		for _, w := range hp.Warnings {
			fmt.Fprintf(log, "jumpgate: warning: %s: %s\n", hp.Host, w)
		}
		if hp.Err != nil {
			fmt.Fprintf(log, "%s: not applied: %s\n", hp.Host, oneLine(hp.Err))
			continue
		}
		fmt.Fprintf(log, "%s: applied: %s\n", hp.Host, hp.Rules.Summary)
	}
}

// FlushFleet removes our table on every host at once, each through
// run, and reports per host to log. It returns how many hosts failed.
func FlushFleet(ctx context.Context, hosts []string, run Exec, log io.Writer) int {
	had := make([]bool, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			had[i], errs[i] = FlushRemote(ctx, run.on(h))
		}()
	}
	wg.Wait()
	failed := 0
	for i, h := range hosts {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(log, "%s: not flushed: %s\n", h, oneLine(errs[i]))
			continue
		}
		fmt.Fprintf(log, "%s: %s\n", h, FlushNote(had[i]))
	}
	return failed
}

// FlushNote says what a flush did.
func FlushNote(had bool) string {
	if had {
		return "removed table bridge " + TableName
	}
	return "no table bridge " + TableName + ": nothing to remove"
}

// Failed counts the hosts whose plan (or apply) failed, and those of them
// that could not be reached at all.
func Failed(plans []HostPlan) (failed, unreached int) {
	for _, hp := range plans {
		if hp.Err != nil {
			failed++
		}
		if hp.Unreached {
			unreached++
		}
	}
	return failed, unreached
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
