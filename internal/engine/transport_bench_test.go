package engine

import (
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// BenchmarkPacketThroughput sends 32 KiB messages (OpenSSH's channel
// packet size) one way over net.Pipe; allocs/op are per message, sealing
// and opening together.
func BenchmarkPacketThroughput(b *testing.B) {
	keys := newTestHostKeys(b)
	for _, c := range []string{"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr"} {
		b.Run(c, func(b *testing.B) {
			ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{
				KeyExchanges: []string{"curve25519-sha256"}, Ciphers: []string{c}, MACs: []string{"hmac-sha2-256-etm@openssh.com"}})
			client, server := newPipePair(b, ccfg, scfg)
			// The client's reader takes the server's EXT_INFO, then waits.
			go client.readPacket()
			msg := make([]byte, 32*1024)
			msg[0] = 94
			done := make(chan error, 1)
			go func() {
				for {
					if _, err := server.readPacket(); err != nil {
						done <- err
						return
					}
				}
			}()
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if err := client.writePacket(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
