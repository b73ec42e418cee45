// Package ring maps keys to partitions and partitions to nodes.
//
// It is pure and deterministic: no I/O, no goroutines, no clock, no global
// state, and every function is safe for concurrent use. A key is hashed like
// Redis Cluster (hash tags, CRC16, 16384 slots), so CLUSTER KEYSLOT answers
// match Redis; a partition is a contiguous range of slots; placement ranks
// nodes per partition by rendezvous hashing, capped so that every node holds
// its fair share, and keeps what it can of the previous map.
//
// A controller computes and publishes maps; routers only read them:
//
//	next := ring.Assign(current, members, 3, 1024) // on a membership change
//	if next.Epoch != current.Epoch {
//		for _, m := range ring.Diff(current, next) {
//			// schedule m: stream a copy, then hand mastership over
//		}
//		published.Store(&next) // an atomic.Pointer[ring.Table]
//	}
//
//	// on every request:
//	p := ring.Partition(key, tab.Len())
//	master := tab.Master(p)
//
// A Table is a value shared between goroutines: never modify one that may
// have been published; Clone it and edit the copy.
package ring
