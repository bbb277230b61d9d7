package cli

import (
	"context"
	"errors"
)

// runLab is `jumpgate lab`. STUB: the lab owner replaces this file.
func runLab(ctx context.Context, e *env, args []string) error {
	return errors.New("jumpgate lab is not implemented yet")
}
