package vpn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// ServeTunChannel serves a tun@openssh.com channel as sshd does with
// PermitTunnel: it creates tunN (the unit asked for, or the first free
// one), joins it to the channel and removes it when the channel closes.
// Layer 2 is refused: x/crypto/ssh's Read joins messages and Ethernet
// frames carry no length to split them again.
func ServeTunChannel(ctx context.Context, nch sshwire.NewChannel, log *slog.Logger) {
	o, err := ParseTunOpen(nch.ExtraData())
	if err != nil {
		nch.Reject(sshwire.ConnectionFailed, err.Error())
		return
	}
	if Mode(o.Mode) != L3 {
		log.Info("tunnel refused", "mode", o.Mode)
		nch.Reject(sshwire.Prohibited, "only layer-3 (point-to-point) tunnels are served")
		return
	}
	name := "tun%d"
	if o.Unit != AnyUnit {
		name = fmt.Sprintf("tun%d", o.Unit)
	}
	dev, err := Open(L3, name, false)
	if err != nil {
		log.Warn("tunnel open failed", "err", err)
		nch.Reject(sshwire.ConnectionFailed, err.Error())
		return
	}
	defer dev.Close()
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	go sshwire.DiscardRequests(reqs)
	log.Info("tunnel opened", "device", dev.Name())
	err = Pump(ctx, dev, NewL3Reader(ch, MaxPacket), NewL3Writer(ch), ch, nil)
	log.Info("tunnel closed", "device", dev.Name(), "err", err)
}
