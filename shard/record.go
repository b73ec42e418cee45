package shard

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// Record types, stored in the first byte of every record. The byte is the
// Redis TYPE name's initial so a hex dump of a partition file stays readable.
const (
	typeString byte = 's'
)

// typeName is what TYPE (and SCAN's TYPE filter) calls each record type.
func typeName(t byte) string {
	switch t {
	case typeString:
		return "string"
	default:
		return "none"
	}
}

// headerLen is the size of the fixed record header: type (1), version (8),
// expiry (8).
const headerLen = 1 + 8 + 8

// record is one decoded value. val aliases the stored BuntDB string, so it
// must be treated as read-only.
type record struct {
	typ byte
	// ver is the partition-wide write counter at the time of the write;
	// it orders and deduplicates replicated writes.
	ver uint64
	// exp is the absolute expiry in unix milliseconds; 0 means none. It is
	// the only source of truth for expiry (BuntDB TTLs are not used).
	exp int64
	val string
}

// expired reports whether r is past its expiry at now (unix ms).
func (r *record) expired(now int64) bool {
	return r.exp != 0 && r.exp <= now
}

var errBadRecord = errors.New("shard: malformed record")

// encodeRecord lays out a record as BuntDB value bytes, in one allocation.
func encodeRecord[T string | []byte](typ byte, ver uint64, exp int64, payload T) string {
	buf := make([]byte, headerLen+len(payload))
	buf[0] = typ
	binary.BigEndian.PutUint64(buf[1:], ver)
	binary.BigEndian.PutUint64(buf[9:], uint64(exp))
	copy(buf[headerLen:], payload)
	// buf is never written again, so it can back the string directly.
	return unsafe.String(&buf[0], len(buf))
}

// decodeRecord parses a stored value. The payload aliases s.
func decodeRecord(s string) (record, error) {
	if len(s) < headerLen {
		return record{}, errBadRecord
	}
	return record{
		typ: s[0],
		ver: binary.BigEndian.Uint64([]byte(s[1:9])),
		exp: int64(binary.BigEndian.Uint64([]byte(s[9:17]))),
		val: s[headerLen:],
	}, nil
}

// recordExpiry reads only the expiry of a stored value (0 if malformed).
func recordExpiry(s string) int64 {
	if len(s) < headerLen {
		return 0
	}
	return int64(binary.BigEndian.Uint64([]byte(s[9:17])))
}

// keyHash is FNV-1a 32 of the user key. Storage keys start with it so a
// partition iterates in hash order, which makes SCAN's cursor a plain hash
// value that stays valid whatever is inserted or deleted between calls.
func keyHash(key []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// storageKeyLen is the length of the hash prefix of storage keys.
const storageKeyLen = 4

// storageKey is the BuntDB key of a user key: big-endian hash, then the key.
func storageKey(key []byte) string {
	buf := make([]byte, storageKeyLen+len(key))
	binary.BigEndian.PutUint32(buf, keyHash(key))
	copy(buf[storageKeyLen:], key)
	return unsafe.String(&buf[0], len(buf))
}

// hashPivot is the smallest storage key with hash h.
func hashPivot(h uint32) string {
	var b [storageKeyLen]byte
	binary.BigEndian.PutUint32(b[:], h)
	return string(b[:])
}

// splitStorageKey returns the hash and the user key of a storage key.
func splitStorageKey(sk string) (uint32, string, bool) {
	if len(sk) < storageKeyLen {
		return 0, "", false
	}
	return binary.BigEndian.Uint32([]byte(sk[:storageKeyLen])), sk[storageKeyLen:], true
}
