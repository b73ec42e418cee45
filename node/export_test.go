package node

// The failover accounting of metrics.go, for metrics_test.go (package
// node_test) to check on hand-made maps.
var (
	Failovers        = failovers
	ClusterView      = clusterView
	ObserveFailovers = observeFailovers
)
