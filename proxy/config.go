package proxy

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardis/shardis/resp"
)

// Backend is one shard the proxy may route to.
type Backend struct {
	// ID is the shard's id in the cluster map.
	ID string
	// Addr is the shard's internal RESP address.
	Addr string
}

// Config configures a proxy. The zero value of a field means its default
// unless its doc says otherwise.
type Config struct {
	// Addr is the client address, e.g. "127.0.0.1:6379".
	Addr string
	// Shards lists the shards of a cluster with static membership (one
	// copy of each partition, no failover); a proxy following a cluster
	// map by gossip leaves it empty and gets its routing from UpdateMap.
	Shards []Backend
	// Release is the Shardis version INFO reports as shardis_version (the
	// binary's, see cmd/shardis); empty reports "(devel)".
	Release string
	// Partitions is the cluster's fixed partition count (a power of two);
	// every shard must report the same.
	Partitions int
	// Password, when set, makes clients AUTH before any other command.
	Password string
	// ConnsPerShard is the number of pipelined connections to each shard,
	// shared by all clients. Default 2.
	ConnsPerShard int
	// BackendTimeout bounds how long a request may wait for a shard's reply
	// (and for a connect). A client never waits longer. Default 5s.
	BackendTimeout time.Duration
	// RetryBudget bounds how long a request refused by a shard that no
	// longer masters its partition (NOTMASTER) waits for a newer cluster
	// map before the client gets TRYAGAIN. Such a request never ran, so it
	// is sent again. Default 2s.
	RetryBudget time.Duration
	// WaitForFailover, on a proxy that follows a cluster map, makes a
	// request for a shard that is down (and that was never sent to it)
	// wait, within RetryBudget, for the map that gives its partition to
	// another shard, and go there, instead of failing with CLUSTERDOWN at
	// once: a failover then costs clients latency, not errors.
	WaitForFailover bool
	// ClusterStatus, on a proxy that is a cluster member, completes Status
	// from the cluster map: node states as the map has them, in-sync set
	// sizes, and under-replicated partitions counted by in-sync copies.
	// Nil reports what the proxy's own connections show.
	ClusterStatus func(*Status)
	// Admin, on a proxy that is a cluster member, hands an operator's
	// change (SHARDIS.DECOMMISSION, SHARDIS.REBALANCE) to the cluster
	// controller and returns once it is committed, or why it was refused.
	// Nil answers those commands with an error.
	Admin func(context.Context, AdminRequest) error
	// MaxPipeline bounds requests in flight on one backend connection;
	// more wait for room. Default 4096.
	MaxPipeline int
	// MaxClients caps client connections; more are refused with
	// "ERR max number of clients reached". Default 10000.
	MaxClients int
	// Limits bound what one client may send. Zero fields take
	// resp.DefaultLimits.
	Limits resp.Limits
	// Registerer receives the proxy's metrics. Nil means a private registry.
	Registerer prometheus.Registerer
	// Logger receives operational events. Nil means slog.Default().
	Logger *slog.Logger
}

// release is the version INFO reports.
func (c *Config) release() string {
	if c.Release == "" {
		return "(devel)"
	}
	return c.Release
}
