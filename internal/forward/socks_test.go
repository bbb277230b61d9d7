package forward

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// rw reads a fixed input and collects what the server answers.
type rw struct {
	io.Reader
	out bytes.Buffer
}

func (r *rw) Write(p []byte) (int, error) { return r.out.Write(p) }

// encodeSOCKS is the request a client sends for q (SOCKS5 with its
// no-authentication greeting, or SOCKS4/4a).
func encodeSOCKS(q *socksRequest) []byte {
	var b []byte
	if q.Version == 4 {
		b = append(b, 4, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(q.Port))
		b = append(b, 0, 0, 0, 1, 0)
		return append(append(b, q.Host...), 0)
	}
	b = append(b, 5, 1, 0, 5, 1, 0, 3, byte(len(q.Host)))
	b = append(b, q.Host...)
	return binary.BigEndian.AppendUint16(b, uint16(q.Port))
}

func TestReadSOCKS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want socksRequest
	}{
		{"socks5-name.bin", socksRequest{5, "localhost", 80}},
		{"socks5-ipv4.bin", socksRequest{5, "127.0.0.1", 8080}},
		{"socks5-ipv6.bin", socksRequest{5, "::1", 22}},
		{"socks4.bin", socksRequest{4, "127.0.0.1", 80}},
		{"socks4a.bin", socksRequest{4, "example.lab", 80}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata/socks", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			// Bytes after the request belong to the forwarded stream.
			r := &rw{Reader: bytes.NewReader(append(data, "rest"...))}
			q, err := readSOCKS(r)
			if err != nil || *q != tt.want {
				t.Fatalf("readSOCKS = %+v, %v; want %+v", q, err, tt.want)
			}
			if rest, _ := io.ReadAll(r); string(rest) != "rest" {
				t.Errorf("left %q after the request; want %q", rest, "rest")
			}
		})
	}
}

// FuzzSOCKS feeds arbitrary bytes to the request parser: no panic, a
// request that parses has a host and a port, and an encoded request
// parses back to itself.
func FuzzSOCKS(f *testing.F) {
	ents, err := os.ReadDir("testdata/socks")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join("testdata/socks", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := readSOCKS(&rw{Reader: bytes.NewReader(data)})
		if err != nil {
			return
		}
		if q.Host == "" || q.Port < 0 || q.Port > 65535 || (q.Version != 4 && q.Version != 5) {
			t.Fatalf("parsed %q to %+v", data, q)
		}
		if bytes.IndexByte([]byte(q.Host), 0) >= 0 || len(q.Host) > 255 {
			return // not representable in a SOCKS4a or SOCKS5 name
		}
		back, err := readSOCKS(&rw{Reader: bytes.NewReader(encodeSOCKS(q))})
		if err != nil || *back != *q {
			t.Fatalf("%+v encoded and read back as %+v, %v", q, back, err)
		}
	})
}
