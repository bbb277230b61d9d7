package engine

import (
	"bytes"
	"encoding/binary"
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

// BenchmarkSealOpen seals and opens one 32 KiB packet in memory, without
// the connection around it: the ciphers' own cost.
func BenchmarkSealOpen(b *testing.B) {
	for _, c := range []struct {
		cipher, mac string
		keyLen      int
	}{
		{"chacha20-poly1305@openssh.com", "", 64},
		{"aes128-gcm@openssh.com", "", 16},
		{"aes128-ctr", "hmac-sha2-256-etm@openssh.com", 16},
	} {
		b.Run(c.cipher, func(b *testing.B) {
			key, iv, macKey := make([]byte, c.keyLen), make([]byte, 16), make([]byte, 32)
			enc, err := newPacketCipher(c.cipher, c.mac, key, iv, macKey, true)
			if err != nil {
				b.Fatal(err)
			}
			dec, err := newPacketCipher(c.cipher, c.mac, key, iv, macKey, false)
			if err != nil {
				b.Fatal(err)
			}
			const size = 32 << 10
			pkt := make([]byte, 4+size, 4+size+64)
			binary.BigEndian.PutUint32(pkt, size)
			pkt[4] = 4
			var in bytes.Reader
			var rbuf []byte
			b.SetBytes(size)
			b.ReportAllocs()
			seq := uint32(0)
			for b.Loop() {
				binary.BigEndian.PutUint32(pkt, size)
				out := enc.seal(seq, pkt)
				in.Reset(out)
				var body []byte
				if body, rbuf, err = dec.open(seq, &in, rbuf); err != nil || len(body) != size {
					b.Fatalf("open: %d bytes, %v", len(body), err)
				}
				pkt = out[:4+size]
				seq++
			}
		})
	}
}
