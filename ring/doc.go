// Package ring maps keys to partitions and partitions to nodes.
//
// It is pure and deterministic: no I/O, no goroutines, no clock. A key is
// hashed like Redis Cluster (hash tags, CRC16, 16384 slots); a partition is a
// contiguous range of slots; placement ranks nodes per partition by
// rendezvous hashing, capped so that every node holds its fair share.
package ring
