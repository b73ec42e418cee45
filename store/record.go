package store

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// Record types, the first byte of every key record. Each is the Redis TYPE
// name's initial where it is free, so a hex dump of a partition file stays
// readable.
const (
	TypeString byte = 's'
	TypeHash   byte = 'h'
	TypeList   byte = 'l'
	TypeSet    byte = 't'
	TypeZSet   byte = 'z'
)

// TypeName is what TYPE (and SCAN's TYPE filter) calls each record type.
func TypeName(t byte) string {
	switch t {
	case TypeString:
		return "string"
	case TypeHash:
		return "hash"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	}
	return "none"
}

// IsCollection reports whether records of type t keep their elements as
// storage keys of their own.
func IsCollection(t byte) bool { return t != TypeString }

// headerLen is the size of the record header: type (1), version (8),
// expiry (8).
const headerLen = 1 + 8 + 8

// collLen is the size of a collection's payload: encoding (1), generation
// (8), element count (8), list head and tail (8 each).
const collLen = 1 + 8 + 8 + 8 + 8

// Record is one decoded key record. For a string Val is the value; for a
// collection the metadata fields describe where its elements are. Val
// aliases the stored BuntDB string, so it must be treated as read-only.
type Record struct {
	Type byte
	// Ver is the partition-wide write counter at the time of the write; it
	// orders and deduplicates replicated writes, and serves WATCH and CAS.
	Ver uint64
	// Exp is the absolute expiry in unix milliseconds; 0 means none. It is
	// the only source of truth for expiry (BuntDB TTLs are not used).
	Exp int64
	Val string

	// Enc is the encoding OBJECT ENCODING reports for a collection. It
	// changes as Redis's does: upward once a size threshold is crossed,
	// never back (see the exec package).
	Enc byte
	// Gen tells this collection's elements from those of a deleted one of
	// the same name (see ElemKey).
	Gen uint64
	// Count is the number of elements.
	Count int64
	// Head and Tail bound a list's element positions: elements sit at
	// Head..Tail-1.
	Head, Tail int64
}

// Expired reports whether r is past its expiry at now (unix ms).
func (r *Record) Expired(now int64) bool { return r.Exp != 0 && r.Exp <= now }

// ErrBadRecord means a stored record cannot be decoded.
var ErrBadRecord = errors.New("store: malformed record")

// Encode lays r out as BuntDB value bytes, in one allocation, with version
// ver.
func (r *Record) Encode(ver uint64) string {
	n := headerLen + len(r.Val)
	if IsCollection(r.Type) {
		n = headerLen + collLen
	}
	buf := make([]byte, n)
	buf[0] = r.Type
	binary.BigEndian.PutUint64(buf[1:], ver)
	binary.BigEndian.PutUint64(buf[9:], uint64(r.Exp))
	if IsCollection(r.Type) {
		p := buf[headerLen:]
		p[0] = r.Enc
		binary.BigEndian.PutUint64(p[1:], r.Gen)
		binary.BigEndian.PutUint64(p[9:], uint64(r.Count))
		binary.BigEndian.PutUint64(p[17:], uint64(r.Head))
		binary.BigEndian.PutUint64(p[25:], uint64(r.Tail))
	} else {
		copy(buf[headerLen:], r.Val)
	}
	// buf is never written again, so it can back the string directly.
	return unsafe.String(&buf[0], len(buf))
}

// DecodeRecord parses a stored key record. Val aliases s.
func DecodeRecord(s string) (Record, error) {
	if len(s) < headerLen {
		return Record{}, ErrBadRecord
	}
	r := Record{
		Type: s[0],
		Ver:  binary.BigEndian.Uint64([]byte(s[1:9])),
		Exp:  int64(binary.BigEndian.Uint64([]byte(s[9:17]))),
	}
	if !IsCollection(r.Type) {
		r.Val = s[headerLen:]
		return r, nil
	}
	if len(s) != headerLen+collLen {
		return Record{}, ErrBadRecord
	}
	p := s[headerLen:]
	r.Enc = p[0]
	r.Gen = binary.BigEndian.Uint64([]byte(p[1:9]))
	r.Count = int64(binary.BigEndian.Uint64([]byte(p[9:17])))
	r.Head = int64(binary.BigEndian.Uint64([]byte(p[17:25])))
	r.Tail = int64(binary.BigEndian.Uint64([]byte(p[25:33])))
	return r, nil
}

// RecordExpiry reads only the expiry of a stored key record (0 if
// malformed).
func RecordExpiry(s string) int64 {
	if len(s) < headerLen {
		return 0
	}
	return int64(binary.BigEndian.Uint64([]byte(s[9:17])))
}

// RecordVersion reads only the version of a stored key record (0 if
// malformed).
func RecordVersion(s string) uint64 {
	if len(s) < headerLen {
		return 0
	}
	return binary.BigEndian.Uint64([]byte(s[1:9]))
}

// ValidRecord reports whether s can be a stored key record.
func ValidRecord(s string) bool {
	_, err := DecodeRecord(s)
	return err == nil
}
