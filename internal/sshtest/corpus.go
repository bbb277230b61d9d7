package sshtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Compressible data for the compression tests and benchmarks, made the
// same way every time: what people compress over SSH.

// CorpusKinds names the kinds of [Corpus]: prose-like text, syslog-like
// logs and a remote console's display stream.
func CorpusKinds() []string { return []string{"text", "logs", "spice"} }

// Corpus returns n bytes of the named kind, the same on every call.
func Corpus(kind string, n int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(len(kind))))
	words, daemons := corpusWords(), []string{"sshd", "kernel", "systemd", "libvirtd", "dnsmasq", "cron", "qemu-system-x86"}
	var b bytes.Buffer
	b.Grow(n + 4096)
	for b.Len() < n {
		switch kind {
		case "text":
			corpusText(&b, r, words)
		case "logs":
			corpusLogs(&b, r, daemons)
		case "spice":
			corpusSpice(&b, r, words)
		default:
			panic("sshtest: unknown corpus " + kind)
		}
	}
	return b.Bytes()[:n]
}

func corpusWords() []string {
	return []string{"the", "of", "and", "to", "a", "in", "is", "that", "for", "it",
		"connection", "packet", "window", "channel", "server", "client", "key", "exchange",
		"host", "network", "bridge", "interface", "address", "route", "tunnel", "forward",
		"compress", "stream", "buffer", "session", "terminal", "process", "kernel", "device",
		"virtual", "machine", "hypervisor", "console", "display", "configuration", "option",
		"value", "between", "through", "without", "before", "after", "because", "every"}
}

// corpusText is prose-like: words drawn with a skewed (Zipf-like) law.
func corpusText(b *bytes.Buffer, r *rand.Rand, words []string) {
	n := 5 + r.IntN(20)
	for i := range n {
		w := words[int(float64(len(words))*r.Float64()*r.Float64())]
		if i == 0 {
			w = string(w[0]-32) + w[1:]
		}
		b.WriteString(w)
		if i < n-1 {
			b.WriteByte(' ')
		}
	}
	b.WriteString(".\n"[r.IntN(2):])
	b.WriteByte(' ')
}

// corpusLogs is syslog-like: timestamps, hosts, PIDs, addresses.
func corpusLogs(b *bytes.Buffer, r *rand.Rand, daemons []string) {
	d := daemons[r.IntN(len(daemons))]
	fmt.Fprintf(b, "2026-12-%02dT%02d:%02d:%02d.%06d+00:00 hyper%d %s[%d]: ", 1+r.IntN(28), r.IntN(24),
		r.IntN(60), r.IntN(60), r.IntN(1000000), 1+r.IntN(4), d, 100+r.IntN(40000))
	switch r.IntN(4) {
	case 0:
		fmt.Fprintf(b, "Accepted publickey for root from 198.18.%d.%d port %d ssh2: ED25519 SHA256:%x\n",
			r.IntN(256), r.IntN(256), 1024+r.IntN(60000), r.Uint64())
	case 1:
		fmt.Fprintf(b, "vnet%d: entered forwarding state, bridge virbr%d port %d\n", r.IntN(64), r.IntN(4), r.IntN(16))
	case 2:
		fmt.Fprintf(b, "DHCPACK(virbr0) 198.18.1.%d 52:54:00:%02x:%02x:%02x vm%d\n", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(100))
	default:
		fmt.Fprintf(b, "session %d: channel %d: window %d, %d bytes queued\n", r.IntN(1000), r.IntN(10), r.IntN(1<<21), r.IntN(1<<16))
	}
}

// corpusSpice is like a remote console's display stream: rectangles of
// 32-bit pixels behind short headers, half of them text in a window
// (glyphs from one font, so letters repeat exactly), the rest flat fills,
// gradients (title bars, shading) and a little noise (photos, video).
func corpusSpice(b *bytes.Buffer, r *rand.Rand, words []string) {
	const gw, gh = 8, 16
	var hdr [16]byte
	w, h := 64*(1+r.IntN(8)), 16*(1+r.IntN(4))
	binary.LittleEndian.PutUint64(hdr[:], r.Uint64()&0xffff00ff)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(w))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(h))
	b.Write(hdr[:])
	bg := r.Uint32() | 0xff000000
	fg := ^bg | 0xff000000
	kind := r.IntN(20)
	var line []byte
	if kind < 10 {
		for len(line) < w/gw {
			line = append(line, words[r.IntN(len(words))]...)
			line = append(line, ' ')
		}
	}
	var px [4]byte
	for y := range h {
		for x := range w {
			c := bg
			switch {
			case kind < 10: // text: glyph rows from a fixed font
				ch := uint32(line[x/gw])
				bit := (ch*2654435761 + uint32(y%gh)*40503) >> (x % gw) & 1
				if ch != ' ' && bit == 1 && y%gh > 2 && y%gh < 13 {
					c = fg
				}
			case kind < 15: // flat fill with a border
				if x == 0 || y == 0 || x == w-1 || y == h-1 {
					c = fg
				}
			case kind < 19: // gradient
				c = bg + uint32(x/4+y/2)*0x010101
			default: // noise
				c = r.Uint32()
			}
			binary.LittleEndian.PutUint32(px[:], c)
			b.Write(px[:])
		}
	}
}
