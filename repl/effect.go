// Package repl holds what replication moves and remembers, apart from any
// connection: the effect and its wire format, the history hash that tells
// copies' histories apart, the bounded log of recent effects a master
// serves catch-up from, and the followers' acknowledged positions with the
// wait for them. It never sees a command or a reply.
package repl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/shardis/shardis/store"
)

// Op is one store-level mutation of a partition (see store.Op).
type Op = store.Op

// Effect is what one committed write transaction did to one partition.
type Effect struct {
	Partition int
	// Seq numbers the partition's effects 1, 2, 3, … without gaps.
	Seq uint64
	// Ops are applied in order; a key may appear more than once.
	Ops []Op
}

// History hashes. Every effect moves a partition's history hash on:
// hash(seq) = chain(hash(seq-1), seq, ops), with hash(0) = 0. Copies that
// applied the same effects in the same order have the same hash at every
// seq, so a follower resuming at seq S proves with its hash that it holds
// the master's history up to S, and not writes of its own that no other
// copy has (a master that crashed before its followers fetched its last
// write, then came back as a follower of the master promoted in its
// place, which wrote other effects under the same seqs). The master sends
// a snapshot to a follower whose hash differs.

// Chain returns the history hash after an effect: FNV-1a (64-bit)
// over the previous hash, the seq and every op's kind, key and value.
func Chain(prev, seq uint64, ops []Op) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	word := func(v uint64) {
		for i := 0; i < 8; i++ {
			h = (h ^ (v & 0xff)) * prime
			v >>= 8
		}
	}
	str := func(v string) {
		word(uint64(len(v)))
		for i := 0; i < len(v); i++ {
			h = (h ^ uint64(v[i])) * prime
		}
	}
	word(prev)
	word(seq)
	for _, op := range ops {
		if op.Del {
			word(1)
		} else {
			word(0)
		}
		str(op.Key)
		str(op.Value)
	}
	return h
}

// Effect wire format, shared by replication, catch-up and backup:
//
//	version   1 byte (effectFormat)
//	partition uvarint
//	seq       uvarint
//	ops       uvarint count, then per op:
//	            kind 1 byte: 0 set, 1 delete, 2 clear (delete every record)
//	            set:    uvarint len(key), key, uvarint len(value), value
//	            delete: uvarint len(key), key
//	crc       4 bytes, big-endian CRC-32C of everything before
const effectFormat = 1

const (
	opSet byte = iota
	opDel
	opClear
)

// Castagnoli is the CRC-32C table of effects and snapshots.
var Castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendEffect appends the wire encoding of e to dst.
func AppendEffect(dst []byte, e Effect) []byte {
	start := len(dst)
	dst = append(dst, effectFormat)
	dst = binary.AppendUvarint(dst, uint64(e.Partition))
	dst = binary.AppendUvarint(dst, e.Seq)
	dst = binary.AppendUvarint(dst, uint64(len(e.Ops)))
	for _, op := range e.Ops {
		switch {
		case op.Clear():
			dst = append(dst, opClear)
		case op.Del:
			dst = append(dst, opDel)
			dst = binary.AppendUvarint(dst, uint64(len(op.Key)))
			dst = append(dst, op.Key...)
		default:
			dst = append(dst, opSet)
			dst = binary.AppendUvarint(dst, uint64(len(op.Key)))
			dst = append(dst, op.Key...)
			dst = binary.AppendUvarint(dst, uint64(len(op.Value)))
			dst = append(dst, op.Value...)
		}
	}
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], Castagnoli))
}

// DecodeEffect parses one encoded effect occupying all of b. The result
// does not alias b.
func DecodeEffect(b []byte) (Effect, error) {
	if len(b) < 1+4 {
		return Effect{}, fmt.Errorf("%w: %d bytes is too short", ErrBadEffect, len(b))
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, Castagnoli) != binary.BigEndian.Uint32(b[len(body):]) {
		return Effect{}, fmt.Errorf("%w: checksum mismatch", ErrBadEffect)
	}
	if body[0] != effectFormat {
		return Effect{}, fmt.Errorf("%w: unknown format %d", ErrBadEffect, body[0])
	}
	// One copy backs every key and value.
	d := decoder{s: string(body), pos: 1}
	part := d.uvarint()
	seq := d.uvarint()
	n := d.uvarint()
	if d.err != nil || part > 1<<14 || n > uint64(len(body)) {
		return Effect{}, fmt.Errorf("%w: bad header", ErrBadEffect)
	}
	e := Effect{Partition: int(part), Seq: seq, Ops: make([]Op, 0, n)}
	for range n {
		kind := d.byte()
		var op Op
		switch kind {
		case opSet:
			op.Key = d.str()
			op.Value = d.str()
		case opDel:
			op.Del = true
			op.Key = d.str()
			if d.err == nil && op.Key == "" {
				d.err = errors.New("delete of an empty key")
			}
		case opClear:
			op.Del = true
		default:
			if d.err == nil {
				d.err = fmt.Errorf("unknown op kind %d", kind)
			}
		}
		if d.err != nil {
			return Effect{}, fmt.Errorf("%w: %v", ErrBadEffect, d.err)
		}
		e.Ops = append(e.Ops, op)
	}
	if d.pos != len(d.s) {
		return Effect{}, fmt.Errorf("%w: %d trailing bytes", ErrBadEffect, len(d.s)-d.pos)
	}
	return e, nil
}

// decoder reads the fields of an encoded effect; the first error sticks.
type decoder struct {
	s   string
	pos int
	err error
}

var errTruncated = errors.New("truncated")

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if d.pos >= len(d.s) || shift > 63 {
			d.err = errTruncated
			return 0
		}
		c := d.s[d.pos]
		d.pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.s) {
		d.err = errTruncated
		return 0
	}
	d.pos++
	return d.s[d.pos-1]
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.pos) {
		d.err = errTruncated
		return ""
	}
	v := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return v
}

// ErrBadEffect means an effect is malformed or belongs elsewhere.
var ErrBadEffect = errors.New("repl: malformed effect")
