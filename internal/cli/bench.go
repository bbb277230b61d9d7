package cli

import "context"

// runBench is `jumpgate bench`. STUB until the benchmarks land.
func runBench(ctx context.Context, e *env, args []string) error {
	return notYet("bench", 3)(ctx, e, args)
}
