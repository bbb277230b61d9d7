package vpn

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable is `jumpgate vpn status`'s table of running tunnels.
func WriteTable(w io.Writer, recs []Record) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PID\tTARGET\tMODE\tSTATE\tTRANSPORT\tLOCAL\tREMOTE\tMTU\tTX\tRX\tUP")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.PID, r.Target, r.Mode, r.State, r.Transport,
			endText(r.Device, addrText(r.Address, r.Addresses), r.Bridge),
			endText(r.RemoteDevice, addrText(r.RemoteAddress, r.RemoteAddresses), r.RemoteBridge), r.MTU,
			rateText(r.TxBitsPerSec), rateText(r.RxBitsPerSec), time.Since(r.Since).Truncate(time.Second))
	}
	return tw.Flush()
}

// endText is one end: "jgtun0 198.19.252.1/30" or "jgtap0@virtual 198.18.3.99/24".
func endText(dev, addr, bridge string) string {
	s := dev
	if bridge != "" {
		s += "@" + bridge
	}
	if addr != "" {
		s += " " + addr
	}
	return s
}

// addrText is an end's addresses, comma-separated; a record written
// before there were several has only the one.
func addrText(first string, all []string) string {
	if len(all) > 0 {
		return strings.Join(all, ",")
	}
	return first
}

func rateText(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}

// WriteJSON prints recs as `jumpgate vpn status --json` does: an array,
// empty rather than null when no tunnel runs.
func WriteJSON(w io.Writer, recs []Record) error {
	if recs == nil {
		recs = []Record{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(recs)
}
