// Command shardis runs the processes of a Shardis cluster: `shardis dev` for
// a whole cluster in one process, `shardis shard` and `shardis proxy` for the
// processes of a real deployment. Run `shardis help` for the list.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
