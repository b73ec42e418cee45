//go:build race

package node_test

// bigHashFields is the size of the big hash of bigkey_test.go under the
// race detector, which makes every BuntDB write and every replicated op
// several times slower: a million fields (three copies, plus the sweep
// deleting them again) would not fit the test's minute on 2 cores. 200,000
// fields still make every per-element cost visible against a one-field
// write. Without -race the test uses the full million (bigkey_norace_test.go).
const bigHashFields = 200_000
