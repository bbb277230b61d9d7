package cli

import (
	"context"
	"errors"
)

// runServe is `jumpgate serve`. STUB: the serve owner replaces this file.
func runServe(ctx context.Context, e *env, args []string) error {
	return errors.New("jumpgate serve is not implemented yet")
}
