package sshio

import "net"

// unwrap walks c's wrappers, each showing what it wraps with NetConn (as
// crypto/tls's Conn does), to the first conn that is a T. Without one it
// returns the innermost conn (nil past eight wrappers), for a caller that
// asks the socket itself.
func unwrap[T any](c net.Conn) (t T, inner net.Conn, ok bool) {
	for range 8 {
		if t, ok := c.(T); ok {
			return t, nil, true
		}
		w, isWrapper := c.(interface{ NetConn() net.Conn })
		if !isWrapper {
			return t, c, false
		}
		c = w.NetConn()
	}
	return t, nil, false
}
