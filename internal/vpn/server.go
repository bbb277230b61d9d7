package vpn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// ServeTunChannel serves a tun@openssh.com channel as sshd does with
// PermitTunnel: it creates tunN or tapN (the unit asked for, or the first
// free one), joins it to the channel and removes it when the channel
// closes. A mode permit does not allow is refused, as is layer 2 on a
// connection that joins messages ([ErrNoMessages]).
func ServeTunChannel(ctx context.Context, nch sshwire.NewChannel, permit PermitTunnel, log *slog.Logger) {
	o, err := ParseTunOpen(nch.ExtraData())
	if err != nil {
		nch.Reject(sshwire.ConnectionFailed, err.Error())
		return
	}
	mode := Mode(o.Mode)
	if !permit.Allows(mode) {
		log.Info("tunnel refused", "mode", mode)
		nch.Reject(sshwire.Prohibited, fmt.Sprintf("%s tunnels are not permitted", mode))
		return
	}
	prefix := map[Mode]string{L3: "tun", L2: "tap"}[mode]
	name := prefix + "%d"
	if o.Unit != AnyUnit {
		name = fmt.Sprintf("%s%d", prefix, o.Unit)
	}
	dev, err := Open(mode, name, false)
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
	var (
		r PacketReader
		w PacketWriter
	)
	switch mode {
	case L3:
		r, w = NewL3Reader(ch, MaxPacket), NewL3Writer(ch)
	case L2:
		m, err := asMessageChannel(ch)
		if err != nil {
			log.Warn("tunnel closed", "device", dev.Name(), "err", err)
			ch.Close()
			return
		}
		r, w = NewL2Reader(m, 65535), NewL2Writer(m)
	}
	log.Info("tunnel opened", "device", dev.Name())
	err = Pump(ctx, dev, r, w, ch, nil)
	log.Info("tunnel closed", "device", dev.Name(), "err", err)
}
