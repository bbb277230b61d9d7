package client

import "github.com/jumpgate/jumpgate/internal/sshconn"

// Query is `ssh -Q`: what this client completes, as ssh(1) lists it;
// false for a query ssh(1) does not know.
func Query(what string) ([]string, bool) { return sshconn.Query(what) }
