package shard

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tidwall/buntdb"

	"github.com/shardis/shardis/repl"
	"github.com/shardis/shardis/store"
)

// The persisted effect log. A file-backed partition that keeps an effect
// log (see keepsLog) also stores its effects in its own BuntDB, in the
// same transaction as their writes, and reloads the log when it opens. So
// a master, or a follower promoted while the other copy was away, serves
// FETCH from its history after a restart, and a follower back from a
// short outage catches up from the writes it missed instead of a whole
// snapshot.
//
// Each write transaction stores one record holding its effects (one on a
// master, a fetched batch on a follower), under store.EffectLogPrefix and
// the seq of its last effect, so records sort in seq order:
//
//	at     8 bytes, big endian: commit time (unix ms)
//	prev   8 bytes: the history hash before the record's first effect
//	then per effect:
//	  hash    8 bytes: the history hash after it
//	  len     uvarint
//	  effect  len bytes in the format of repl.AppendEffect (checksummed)
//
// The stored log follows the in-memory one: it holds at least the effects
// the memory log holds (pinned ones included) and about logTrimBatch
// more, older ones, which a later write deletes in one go. A partition
// that stops keeping a log deletes its stored one, up to logTrimMax
// records per write.

const (
	// logTrimBatch is how many stored effects older than the memory log
	// wait before a write deletes their records: a deletion on every
	// write would cost more than a batch now and then.
	logTrimBatch = 64
	// logTrimMax bounds the records one write deletes.
	logTrimMax = 1024
	// logRecordHeader is the size of a record before its first effect.
	logRecordHeader = 16
)

// storedLog is the range of seqs a partition's stored log holds: first
// through last, none when first is 0.
type storedLog struct{ first, last uint64 }

func logKey(seq uint64) string {
	var b [len(store.EffectLogPrefix) + 8]byte
	copy(b[:], store.EffectLogPrefix)
	binary.BigEndian.PutUint64(b[len(store.EffectLogPrefix):], seq)
	return string(b[:])
}

// logKeySeq is the seq a record key names; false for another key.
func logKeySeq(k string) (uint64, bool) {
	if len(k) != len(store.EffectLogPrefix)+8 || k[:len(store.EffectLogPrefix)] != store.EffectLogPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint64([]byte(k[len(store.EffectLogPrefix):])), true
}

// logEnd is the first key after every record.
var logEnd = string([]byte{store.EffectLogPrefix[0] + 1})

// logWriter writes one transaction's record to a partition's stored log.
// Its range becomes the partition's only once the transaction commits.
type logWriter struct {
	tx    *buntdb.Tx
	on    bool // the partition stores its log
	log   storedLog
	buf   []byte // the record being built
	first uint64 // seq of the record's first effect (0: none yet)
	last  uint64
}

// logWriter starts writing p's stored log in tx; logged says whether p
// keeps a log at all. Caller holds p.mu.
func (p *partition) logWriter(tx *buntdb.Tx, logged bool) logWriter {
	return logWriter{tx: tx, on: logged && p.path != "", log: p.stored, buf: p.logBuf[:0]}
}

// done makes w's range p's, once w's transaction committed. Caller holds
// p.mu.
func (w *logWriter) done(p *partition) {
	p.stored = w.log
	if cap(w.buf) <= 64<<10 {
		p.logBuf = w.buf // reused by the next write; a huge effect's buffer is not kept
	}
}

// cleared notes that the transaction deleted every record (a FLUSH): the
// stored log went with them, but for the record still being built.
func (w *logWriter) cleared() { w.log = storedLog{} }

// add appends effect e, committed at atMS with history hash hash after it
// and prev before it, to the transaction's record.
func (w *logWriter) add(e Effect, atMS int64, hash, prev uint64) {
	if !w.on {
		return
	}
	if w.first == 0 {
		w.buf = binary.BigEndian.AppendUint64(w.buf[:0], uint64(atMS))
		w.buf = binary.BigEndian.AppendUint64(w.buf, prev)
		w.first = e.Seq
	}
	w.buf = binary.BigEndian.AppendUint64(w.buf, hash)
	n := len(w.buf)
	w.buf = repl.AppendEffect(binary.AppendUvarint(w.buf, 0), e) // length placeholder
	w.buf = fixLength(w.buf, n)
	w.last = e.Seq
}

// fixLength rewrites the one-byte length placeholder at buf[at] with the
// uvarint length of what follows it.
func fixLength(buf []byte, at int) []byte {
	body := len(buf) - at - 1
	var l [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(l[:], uint64(body))
	if w == 1 {
		buf[at] = l[0]
		return buf
	}
	buf = append(buf, make([]byte, w-1)...)
	copy(buf[at+w:], buf[at+1:at+1+body])
	copy(buf[at:], l[:w])
	return buf
}

// finish stores the transaction's record and deletes the stored effects
// the memory log no longer holds (its oldest is memFirst) once there are
// logTrimBatch of them, or every record when the partition no longer
// stores its log.
func (w *logWriter) finish(memFirst uint64) error {
	if w.on && w.first != 0 {
		if _, _, err := w.tx.Set(logKey(w.last), string(w.buf), nil); err != nil {
			return err
		}
		if w.log.first == 0 {
			w.log.first = w.first
		}
		w.log.last = w.last
	}
	if w.log.first == 0 {
		return nil
	}
	below := w.log.last + 1 // delete the records ending below this seq
	if w.on {
		if memFirst < w.log.first+logTrimBatch {
			return nil
		}
		below = memFirst
	}
	var doomed []string
	err := w.tx.AscendRange("", store.EffectLogPrefix, logKey(below), func(k, _ string) bool {
		doomed = append(doomed, k)
		return len(doomed) < logTrimMax
	})
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if _, err := w.tx.Delete(k); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
			return err
		}
	}
	if len(doomed) > 0 {
		end, _ := logKeySeq(doomed[len(doomed)-1])
		w.log.first = end + 1
	}
	if len(doomed) < logTrimMax && !w.on || w.log.first > w.log.last {
		w.log = storedLog{}
	}
	return nil
}

// memFirst is the seq of the oldest effect p's memory log holds (p.seq+1
// when it holds none). Caller holds p.mu.
func (p *partition) memFirst() uint64 {
	return p.seq - uint64(p.log.Len()) + 1
}

// loggedEntry is one stored effect read back.
type loggedEntry struct {
	e          Effect
	at         int64
	hash, prev uint64
}

// readStoredLog reads the stored log from tx, in seq order, and returns it
// with the seq its oldest record begins at. A record that does not decode
// ends what is read of the records before it (see reloadLog).
func readStoredLog(tx *buntdb.Tx) ([]loggedEntry, uint64, error) {
	var out []loggedEntry
	var first uint64
	err := tx.AscendRange("", store.EffectLogPrefix, logEnd, func(k, v string) bool {
		last, ok := logKeySeq(k)
		if !ok {
			return true
		}
		run, err := decodeLogRecord(v)
		if err != nil || len(run) == 0 || run[len(run)-1].e.Seq != last {
			out = out[:0] // what came before cannot be continued from
			return true
		}
		if first == 0 {
			first = run[0].e.Seq
		}
		out = append(out, run...)
		return true
	})
	return out, first, err
}

// decodeLogRecord decodes one stored record.
func decodeLogRecord(v string) ([]loggedEntry, error) {
	if len(v) < logRecordHeader {
		return nil, errors.New("short record")
	}
	b := []byte(v)
	at := int64(binary.BigEndian.Uint64(b))
	prev := binary.BigEndian.Uint64(b[8:])
	b = b[logRecordHeader:]
	var run []loggedEntry
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, errors.New("truncated record")
		}
		hash := binary.BigEndian.Uint64(b)
		n, w := binary.Uvarint(b[8:])
		if w <= 0 || n > uint64(len(b)-8-w) {
			return nil, errors.New("truncated record")
		}
		e, err := repl.DecodeEffect(b[8+w : 8+w+int(n)])
		if err != nil {
			return nil, err
		}
		run = append(run, loggedEntry{e: e, at: at, hash: hash, prev: prev})
		prev = hash
		b = b[8+w+int(n):]
	}
	return run, nil
}

// reloadLog refills p's memory log from its stored entries: the run of
// consecutive effects that ends at p's seq with p's history hash, each
// chained to the one before. Anything else stored (older effects past a
// gap, which should not happen) is left for trimming. It returns how many
// effects it reloaded. Caller holds p.mu or owns p.
func (s *Server) reloadLog(p *partition, entries []loggedEntry, first uint64) int {
	if first != 0 {
		p.stored = storedLog{first: first, last: p.seq}
	}
	n := len(entries)
	if n == 0 || entries[n-1].e.Seq != p.seq || entries[n-1].hash != p.hash {
		return 0
	}
	start := n - 1
	for start > 0 && entries[start-1].e.Seq+1 == entries[start].e.Seq && entries[start-1].hash == entries[start].prev {
		start--
	}
	for _, le := range entries[start:] {
		p.log.Push(le.e, le.at, le.hash, le.prev, s.replLogSize(), s.replLogBytes())
	}
	return n - start
}

// errIncomplete refuses effects for a partition whose snapshot load did
// not finish: a snapshot must replace its records first.
func errIncomplete(pid int) error {
	return fmt.Errorf("%w: partition %d holds an unfinished snapshot load", ErrSeqGap, pid)
}
