//go:build !race

package node_test

// bigHashFields is the size of the big hash of bigkey_test.go: a million
// fields, so that anything that costs per element (shipping the whole hash
// on a write, deleting it in the UNLINK) shows up as seconds. Under the race
// detector it is smaller (bigkey_race_test.go).
const bigHashFields = 1_000_000
