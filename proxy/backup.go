package proxy

import (
	"strconv"

	"github.com/shardis/shardis/resp"
)

// The backup commands let a client of the proxy (`shardis backup`) read a
// consistent snapshot of each partition without reaching the shards'
// internal port itself. A snapshot lives on the shard that took it, so
// the reads name that shard: a failover in the middle of a backup does
// not send them to a copy that has no such snapshot.
//
//	SHARDIS.BACKUP p
//	    [shard-id, id, seq, size]  p's master took snapshot id of p,
//	                               consistent at seq, of size bytes.
//	SHARDIS.BACKUPREAD shard-id id offset count
//	    $bytes                     up to count bytes at offset; empty at
//	                               the end.
//	SHARDIS.BACKUPDONE shard-id id
//	    +OK                        the shard removed the snapshot.
//
// They are SHARDIS.SNAPSHOT, SNAPREAD and SNAPDONE of the shard's internal
// port, routed; errors are the shard's, or CLUSTERDOWN when no shard
// masters p, or ERR for a shard the map does not name.

// adminArgs is the number of arguments of each admin command that takes
// any; the others take none.
var adminArgs = map[string]int{
	"shardis.backup":     1,
	"shardis.backupread": 4,
	"shardis.backupdone": 2,
}

func cmdBackup(p *Proxy, cl *client, args [][]byte, earlier []*reply) *reply {
	part, err := strconv.Atoi(string(args[1]))
	if err != nil || part < 0 || part >= p.cfg.Partitions {
		return errReply("ERR invalid partition")
	}
	// A backup taken after the client's writes must hold them.
	barrier(earlier)
	rt := p.route.Load()
	pool := rt.master[part]
	if pool == nil {
		return errReply(noMaster(part))
	}
	q := newRequest(resp.AppendCommand(nil, []byte("SHARDIS.SNAPSHOT"), args[1]))
	pool.connFor(part).send(q)
	q.wait()
	if e := firstError([]*request{q}); e != nil {
		return done(e)
	}
	v, _, perr := resp.ParseValue(q.reply)
	if perr != nil || v.Kind != resp.KindArray || len(v.Elems) != 3 ||
		v.Elems[0].Kind != resp.KindBulk || v.Elems[1].Kind != resp.KindInt || v.Elems[2].Kind != resp.KindInt {
		return errReply("ERR unexpected reply from shard " + pool.id + " to SHARDIS.SNAPSHOT")
	}
	b := resp.AppendArrayHeader(nil, 4)
	b = resp.AppendBulkString(b, pool.id)
	b = resp.AppendBulk(b, v.Elems[0].Str)
	b = resp.AppendInt(b, v.Elems[1].Int)
	b = resp.AppendInt(b, v.Elems[2].Int)
	return done(b)
}

func cmdBackupRead(p *Proxy, cl *client, args [][]byte, _ []*reply) *reply {
	return p.toShard(cl, args[1], []byte("SHARDIS.SNAPREAD"), args[2:]...)
}

func cmdBackupDone(p *Proxy, cl *client, args [][]byte, _ []*reply) *reply {
	return p.toShard(cl, args[1], []byte("SHARDIS.SNAPDONE"), args[2:]...)
}

// toShard sends cmd with args to shard id and answers its reply.
func (p *Proxy) toShard(cl *client, id []byte, cmd []byte, args ...[]byte) *reply {
	pool := p.route.Load().byID[string(id)]
	if pool == nil {
		return errReply("ERR no shard " + strconv.Quote(string(id)) + " in the cluster map")
	}
	q := newRequest(resp.AppendCommand(nil, append([][]byte{cmd}, args...)...))
	// The first connection: snapshot reads are rare and large, and the
	// shard keeps no per-connection state for them.
	pool.conns[0].send(q)
	q.wait()
	return done(appendForwarded(nil, q, cl.proto, resp.FlattenNone))
}
