package cli

import (
	"context"
	"errors"
)

// runSSH is `jumpgate ssh` (and the binary invoked as "ssh").
// STUB: the ssh owner replaces this file.
func runSSH(ctx context.Context, e *env, args []string) error {
	return errors.New("jumpgate ssh is not implemented yet")
}
