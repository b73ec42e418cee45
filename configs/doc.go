// Package configs reads Shardis configuration from YAML files and command-line
// flags and turns it into the runtime structs of the shard and proxy packages.
//
// Each process role has its own file type: ShardFile (`shardis shard`),
// ProxyFile (`shardis proxy`) and DevFile (`shardis dev`). A value is built in
// three layers, each overriding the one before:
//
//  1. the Default…() constructor,
//  2. the YAML file given with --config (LoadShardFile and friends),
//  3. flags given explicitly on the command line (RegisterFlags).
//
// Every YAML key is spelled exactly like its flag: `data-dir:` in a file is
// `--data-dir` on the command line. Unknown keys are errors that name the key,
// so a typo cannot silently fall back to a default.
//
// Value formats:
//   - durations are Go duration strings: "5s", "100ms", "1m30s";
//   - sizes are a plain number of bytes or a number with a unit, as in
//     redis.conf: k=1000, kb=1024, m=1000², mb=1024², g=1000³, gb=1024³
//     (case-insensitive), e.g. 536870912, "512mb", "64kb".
//
// Validate reports every problem at once, each naming the field and the value,
// e.g. `proxy.partitions: 300 is not a power of two`.
//
// The sample files shard.yaml, proxy.yaml and dev.yaml in this directory are
// loaded and compared with the defaults by the tests, so they document the
// real defaults.
//
// configs imports shard and proxy, never the reverse: the runtime packages own
// their Config structs and know nothing of files or flags.
package configs
