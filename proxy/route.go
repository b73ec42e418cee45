package proxy

import "github.com/shardis/shardis/resp"

// route is how the proxy serves one command of the command table. The zero route
// forwards the command whole to the master of the partition of its keys, found at the
// table's fixed key positions.
type route struct {
	// local answers the command on the proxy (connection state, server info) or by
	// asking every shard (keyspace-wide commands).
	local localHandler
	// split sends one sub-command per backend connection, each with the keys that live
	// there, and merges the replies: stride arguments per key (2 for MSET's pairs).
	split  func(g *keyGroups, reqs []*request, proto int, dst []byte) []byte
	stride int
	// flatten is how the shard's reply is reshaped for RESP2 clients.
	flatten resp.Flatten
}

// routes holds every command of resp's command table, by table name: the one place
// that says how each is served. Commands not in it are unknown (admin commands aside).
var routes map[string]route

// routeOverrides are the commands not served by the zero route.
func routeOverrides() map[string]route {
	return map[string]route{
		"ping":      {local: cmdPing},
		"echo":      {local: cmdEcho},
		"quit":      {local: cmdQuit},
		"reset":     {local: cmdReset},
		"select":    {local: cmdSelect},
		"hello":     {local: cmdHello},
		"auth":      {local: cmdAuth},
		"command":   {local: cmdCommand},
		"client":    {local: cmdClient},
		"info":      {local: cmdInfo},
		"time":      {local: cmdTime},
		"dbsize":    {local: cmdDBSize},
		"flushall":  {local: cmdFlush},
		"flushdb":   {local: cmdFlush},
		"keys":      {local: cmdKeys},
		"scan":      {local: cmdScan},
		"randomkey": {local: cmdRandomKey},

		"mget":   {split: mergeArrays, stride: 1},
		"del":    {split: sumInts, stride: 1},
		"unlink": {split: sumInts, stride: 1},
		"exists": {split: sumInts, stride: 1},
		"touch":  {split: sumInts, stride: 1},
		"mset":   {split: allOK, stride: 2},
	}
}

func init() {
	over := routeOverrides()
	routes = make(map[string]route, len(over))
	for _, c := range resp.Commands() {
		r := over[c.Name]
		r.flatten = c.RESP2Flatten()
		routes[c.Name] = r
	}
}
