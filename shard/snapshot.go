package shard

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/shardis/shardis/repl"
	"github.com/shardis/shardis/store"
	"hash"
	"hash/crc32"
	"io"

	"github.com/tidwall/buntdb"
)

// Snapshot format (one partition, consistent at one seq):
//
//	magic     8 bytes "SHSNAP\x00\x01" (the last byte is the format version)
//	partition uvarint
//	seq       uvarint
//	records   per record: uvarint len(key) (>= 4), key, uvarint len(value), value
//	end       uvarint 0 (no storage key is empty)
//	count     uvarint number of records
//	crc       4 bytes, big-endian CRC-32C of every byte before
//
// Keys and values are exactly as stored (see Op), in storage-key order.
const snapshotMagic = "SHSNAP\x00\x02"

// ErrBadSnapshot means a snapshot is truncated, corrupt or for another
// partition; LoadSnapshot then leaves the partition as it was.
var ErrBadSnapshot = errors.New("shard: malformed snapshot")

// WriteSnapshot writes a consistent copy of partition pid to w and returns
// the seq it is consistent with: the effects after that seq, applied to
// the loaded snapshot, give the partition's later states. Expired records
// not yet deleted are included, as they are still stored (their deletion
// will be an effect). It holds the partition's read lock while writing, so
// writers of that partition wait for w: give it a buffer or a local file,
// not a slow network peer. A partition never written gives an empty
// snapshot at seq 0.
func (s *Server) WriteSnapshot(pid int, w io.Writer) (seq uint64, err error) {
	if err := s.checkPartition(pid); err != nil {
		return 0, err
	}
	crc := crc32.New(repl.Castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 64<<10)
	var scratch []byte
	put := func(b []byte) {
		if err == nil {
			_, err = bw.Write(b)
		}
	}
	putString := func(v string) {
		if err == nil {
			_, err = bw.WriteString(v)
		}
	}
	p := s.parts[pid].Load()
	writeRecords := func(tx *buntdb.Tx) error {
		var hash uint64
		if tx != nil {
			if seq, hash, err = p.pos(tx); err != nil {
				return err
			}
		}
		scratch = append(scratch[:0], snapshotMagic...)
		scratch = binary.AppendUvarint(scratch, uint64(pid))
		scratch = binary.AppendUvarint(scratch, seq)
		scratch = binary.BigEndian.AppendUint64(scratch, hash)
		put(scratch)
		count := uint64(0)
		if tx != nil {
			terr := tx.Ascend("", func(sk, raw string) bool {
				if isMetaKey(sk) {
					return true
				}
				scratch = binary.AppendUvarint(scratch[:0], uint64(len(sk)))
				put(scratch)
				putString(sk)
				scratch = binary.AppendUvarint(scratch[:0], uint64(len(raw)))
				put(scratch)
				putString(raw)
				count++
				return err == nil
			})
			if terr != nil {
				return terr
			}
		}
		scratch = binary.AppendUvarint(scratch[:0], 0)
		scratch = binary.AppendUvarint(scratch, count)
		put(scratch)
		if err == nil {
			err = bw.Flush()
		}
		return err
	}
	if p != nil {
		if verr := p.db.View(writeRecords); verr != nil && err == nil {
			err = verr
		}
	} else if werr := writeRecords(nil); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return 0, err
	}
	return seq, nil
}

// errItemTooLarge means a snapshot names a key or value longer than any
// command could have written.
var errItemTooLarge = errors.New("item too large")

// readFailed reports whether err, met while reading a snapshot, is the
// reader's own failure (a broken connection) rather than the end of a
// truncated or malformed snapshot.
func readFailed(err error) bool {
	return err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errItemTooLarge)
}

// snapshotReader reads a snapshot while checksumming it.
type snapshotReader struct {
	r       *bufio.Reader
	crc     hash.Hash32
	maxItem uint64
	err     error
}

func (sr *snapshotReader) ReadByte() (byte, error) {
	b, err := sr.r.ReadByte()
	if err == nil {
		sr.crc.Write([]byte{b})
	}
	return b, err
}

func (sr *snapshotReader) uvarint() uint64 {
	if sr.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(sr)
	if err != nil {
		sr.err = err
	}
	return v
}

// bytes reads n bytes, growing the buffer as data arrives so a corrupt
// length cannot allocate more than the stream holds.
func (sr *snapshotReader) bytes(n uint64) string {
	if sr.err != nil {
		return ""
	}
	if n > sr.maxItem {
		sr.err = fmt.Errorf("%w: %d bytes, the limit is %d", errItemTooLarge, n, sr.maxItem)
		return ""
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, sr.r, int64(n)); err != nil {
		sr.err = err
		return ""
	}
	sr.crc.Write(buf.Bytes())
	return buf.String()
}

// readSnapshot parses a snapshot of partition pid, handing each record to
// put as it is read (never the whole snapshot at once), and verifies it:
// records in strictly increasing key order, each a user storage key with a
// well-formed value, the count and the checksum of the trailer. An error
// can come after some records were put. A
// malformed snapshot gives ErrBadSnapshot; r's own failure is returned
// wrapped as it is.
func readSnapshot(r io.Reader, pid int, maxItem uint64, put func(key, value string) error) (seq, hash uint64, err error) {
	sr := &snapshotReader{r: bufio.NewReaderSize(r, 64<<10), crc: crc32.New(repl.Castagnoli), maxItem: maxItem}
	bad := func(format string, args ...any) (uint64, uint64, error) {
		if readFailed(sr.err) {
			return 0, 0, fmt.Errorf("shard: read snapshot: %w", sr.err)
		}
		return 0, 0, fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
	}
	if magic := sr.bytes(uint64(len(snapshotMagic))); sr.err != nil || magic != snapshotMagic {
		return bad("not a snapshot (format %q)", magic)
	}
	part := sr.uvarint()
	seq = sr.uvarint()
	if h := sr.bytes(8); sr.err == nil {
		hash = binary.BigEndian.Uint64([]byte(h))
	}
	if sr.err != nil {
		return bad("header: %v", sr.err)
	}
	if part != uint64(pid) {
		return bad("snapshot of partition %d loaded into partition %d", part, pid)
	}
	n := uint64(0)
	last := ""
	for {
		klen := sr.uvarint()
		if sr.err != nil || klen == 0 {
			break
		}
		key := sr.bytes(klen)
		value := sr.bytes(sr.uvarint())
		if sr.err != nil {
			break
		}
		switch {
		case !store.IsUserKey(key):
			return bad("record %d: %q is not a user storage key", n, key)
		case key[0] == store.SpaceKey && !store.ValidRecord(value):
			return bad("record %d: malformed record of %d bytes", n, len(value))
		case n > 0 && key <= last:
			return bad("records out of order at %d", n)
		}
		if err := put(key, value); err != nil {
			return 0, 0, err
		}
		last = key
		n++
	}
	count := sr.uvarint()
	if sr.err != nil {
		return bad("%v", sr.err)
	}
	sum := sr.crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(sr.r, tail[:]); err != nil {
		sr.err = err
		return bad("checksum: %v", err)
	}
	if binary.BigEndian.Uint32(tail[:]) != sum {
		return bad("checksum mismatch")
	}
	if count != n {
		return bad("%d records, trailer says %d", n, count)
	}
	if _, err := sr.r.ReadByte(); err != io.EOF {
		sr.err = err
		return bad("trailing bytes")
	}
	return seq, hash, nil
}

// snapshotLoadBatch is how many bytes of records one transaction of a
// snapshot load writes. BuntDB keeps a write transaction's every key until
// it commits (and writes them to the file in one buffer), so a partition
// loaded in one transaction would cost its own size again in memory.
const snapshotLoadBatch = 4 << 20

// LoadSnapshot replaces the contents of partition pid with a snapshot read
// from r and sets the partition's seq to the snapshot's, making it a
// follower (see SetFollower) that continues with the effects after that
// seq. See loadSnapshot.
func (s *Server) LoadSnapshot(pid int, r io.Reader) (uint64, error) {
	return s.loadSnapshot(context.Background(), pid, r)
}

// loadSnapshot loads a snapshot into partition pid with bounded memory:
// it first clears the partition and marks it incomplete (see
// metaIncomplete), then writes the records as they are read, in
// transactions of about snapshotLoadBatch bytes that release the
// partition's lock in between, and verifies them as it goes (order,
// records, count, checksum). Only once the whole snapshot verified does
// the last transaction store its seq and history hash and mark the
// partition complete. A bad snapshot, a failing r, ctx ending or a crash
// leave it incomplete: it then takes no effects (ApplyEffects refuses
// them), a Follow loop loads a snapshot into it first, and it is never
// trusted as holding any position. Readers meanwhile see part of the
// records. The effect log restarts empty (effects before the snapshot are
// not known here). A snapshot older than the partition's seq is loaded
// too: that is how a follower that diverged is reset.
func (s *Server) loadSnapshot(ctx context.Context, pid int, r io.Reader) (uint64, error) {
	if err := s.checkPartition(pid); err != nil {
		return 0, err
	}
	p, err := s.partitionForWrite(pid)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	err = s.resetPartition(p, true, true)
	p.mu.Unlock()
	if err != nil {
		return 0, err
	}
	batchMax := s.repl.snaps.loadBatch
	if batchMax <= 0 {
		batchMax = snapshotLoadBatch
	}
	type record struct{ key, value string }
	var batch []record
	size, keys := 0, uint64(0)
	// write commits the batch; with final it also completes the load.
	write := func(final bool, seq, hash uint64) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if final {
			p.incomplete = false
		}
		var t txn
		err := p.db.Update(func(tx *buntdb.Tx) error {
			t.Begin(tx, &p.ctr, s.nowMS(), true, false)
			for _, rec := range batch {
				if err := t.PutRaw(rec.key, rec.value); err != nil {
					return err
				}
			}
			if final {
				return p.setPos(tx, seq, hash, true)
			}
			return nil
		})
		if err != nil {
			p.incomplete = true
			return err
		}
		p.apply(&t)
		clear(batch)
		batch, size = batch[:0], 0
		if final {
			p.seq, p.hash = seq, hash
			s.seqMoved(p)
		}
		return nil
	}
	seq, hash, err := readSnapshot(r, pid, uint64(s.limits.MaxBulkLen)+64, func(key, value string) error {
		if err := s.checkEffect(pid, &Effect{Partition: pid, Ops: []Op{{Key: key, Value: value}}}); err != nil {
			return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
		}
		batch = append(batch, record{key, value})
		size += len(key) + len(value)
		if len(key) > 0 && key[0] == store.SpaceKey {
			keys++
		}
		if size < batchMax {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return write(false, 0, 0)
	})
	if err == nil {
		err = write(true, seq, hash)
	}
	if err != nil {
		s.log.Warn("snapshot load failed; the partition stays incomplete until a snapshot loads",
			"shard", s.cfg.ID, "partition", pid, "err", err)
		return 0, err
	}
	s.repl.snaps.keysLoaded.Add(keys)
	return seq, nil
}

// resetPartition deletes every record of p, its stored effect log
// included, and sets its position to seq 0 with the given flags; its
// effect log restarts empty and its snapshot sessions are abandoned.
// BuntDB deletes everything at once (a flush, not a deletion per key).
// Caller holds p.mu.
func (s *Server) resetPartition(p *partition, follower, incomplete bool) error {
	was := p.incomplete
	p.incomplete = incomplete
	var t txn
	err := p.db.Update(func(tx *buntdb.Tx) error {
		t.Begin(tx, &p.ctr, s.nowMS(), true, false)
		if err := t.Clear(); err != nil {
			return err
		}
		return p.setPos(tx, 0, 0, follower)
	})
	if err != nil {
		p.incomplete = was
		return err
	}
	p.apply(&t)
	s.dropPins(p, "the partition was reset")
	p.seq, p.hash, p.follower = 0, 0, follower
	p.log.Reset()
	p.stored = storedLog{}
	s.seqMoved(p)
	return nil
}

// Digest summarises partition pid for checking that copies agree: the
// SHA-256 of every stored record in storage-key order (per record: uvarint
// len(key), key, uvarint len(value), value — the stored bytes, so type,
// version, expiry and payload all count), the number of records, and the
// seq they are consistent with, all read in one transaction. Records past
// their expiry but not yet deleted count like any other: a master deletes
// them only through effects and a follower never on its own, so two copies
// at the same seq hold the same records whatever their clocks say. Compare
// digests only at equal seqs.
func (s *Server) Digest(pid int) (seq uint64, sum [32]byte, keys int, err error) {
	if err := s.checkPartition(pid); err != nil {
		return 0, sum, 0, err
	}
	h := sha256.New()
	if p := s.parts[pid].Load(); p != nil {
		var scratch []byte
		err = p.db.View(func(tx *buntdb.Tx) error {
			var err error
			if seq, _, err = p.pos(tx); err != nil {
				return err
			}
			return tx.Ascend("", func(sk, raw string) bool {
				if isMetaKey(sk) {
					return true
				}
				scratch = binary.AppendUvarint(scratch[:0], uint64(len(sk)))
				scratch = append(scratch, sk...)
				scratch = binary.AppendUvarint(scratch, uint64(len(raw)))
				scratch = append(scratch, raw...)
				h.Write(scratch)
				keys++
				return true
			})
		})
		if err != nil {
			return 0, sum, 0, err
		}
	}
	h.Sum(sum[:0])
	return seq, sum, keys, nil
}
