// Package store lays one partition's records out in a BuntDB: the storage
// key and record codec, transactions that capture their effects, the
// expiry bookkeeping and the background sweep of deleted collections.
package store

import (
	"encoding/binary"
	"unsafe"
)

// Storage key spaces. Every BuntDB key of a partition begins with one of
// these bytes, so each space is one contiguous range: SCAN and the key
// count see only key records, and a collection's elements sit together
// under their key's prefix and generation.
//
//	key record   'k' | hash32 | key
//	element      'e' | hash32 | uvarint len(key) | key | gen64 | element
//	score index  'z' | hash32 | uvarint len(key) | key | gen64 | score64 | member
//	tombstone    'g' | hash32 | uvarint len(key) | key | gen64
//
// The length prefix makes a collection's prefix unambiguous (key "a" with
// element "bc" never collides with key "ab"); the generation, a value of
// the partition's version counter taken when the collection was created,
// makes a deleted collection's elements invisible at once, whatever key is
// created under the same name afterwards. Metadata of the partition itself
// lives under keys shorter than a key record (see MetaKey).
const (
	SpaceKey       byte = 'k'
	SpaceElem      byte = 'e'
	SpaceScore     byte = 'z'
	SpaceTombstone byte = 'g'
)

// MetaKey is the BuntDB key reserved for the partition's own metadata
// (sequence number, history hash, role). It sorts before every user space.
const MetaKey = "\x00"

// EffectLogPrefix begins the BuntDB keys of a partition's persisted effect
// log: the prefix, then the effect's seq (8 bytes, big endian), so the log
// is one range in seq order. Like MetaKey it is metadata, never a user key:
// snapshots, digests and scans pass over it.
const EffectLogPrefix = "\x01"

// hashLen is the size of the key hash in a storage key.
const hashLen = 4

// KeyHash is FNV-1a 32 of the user key. Key records are ordered by it, so
// a SCAN cursor is a plain hash value that stays valid whatever is
// inserted or deleted between calls.
func KeyHash(key []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// RecordKey is the storage key of user key's record.
func RecordKey(key []byte) string {
	buf := make([]byte, 1+hashLen+len(key))
	buf[0] = SpaceKey
	binary.BigEndian.PutUint32(buf[1:], KeyHash(key))
	copy(buf[1+hashLen:], key)
	return unsafe.String(&buf[0], len(buf))
}

// HashPivot is the smallest key-record storage key with hash h.
func HashPivot(h uint32) string {
	var b [1 + hashLen]byte
	b[0] = SpaceKey
	binary.BigEndian.PutUint32(b[1:], h)
	return string(b[:])
}

// keySpaceEnd is the first storage key after every key record.
const keySpaceEnd = string(SpaceKey + 1)

// SplitRecordKey returns the hash and the user key of a key-record storage
// key; ok is false for any other storage key.
func SplitRecordKey(sk string) (h uint32, key string, ok bool) {
	if len(sk) < 1+hashLen || sk[0] != SpaceKey {
		return 0, "", false
	}
	return binary.BigEndian.Uint32([]byte(sk[1 : 1+hashLen])), sk[1+hashLen:], true
}

// appendPrefix appends space | hash | len | key | gen: the prefix shared
// by every storage key of one collection generation in that space.
func appendPrefix(dst []byte, space byte, key []byte, gen uint64) []byte {
	dst = append(dst, space)
	dst = binary.BigEndian.AppendUint32(dst, KeyHash(key))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	return binary.BigEndian.AppendUint64(dst, gen)
}

// ElemKey is the storage key of one element (or, in SpaceScore, one
// score|member entry) of a collection generation.
func ElemKey(space byte, key []byte, gen uint64, sub []byte) string {
	b := appendPrefix(make([]byte, 0, 1+hashLen+2+len(key)+8+len(sub)), space, key, gen)
	b = append(b, sub...)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// UserKey returns the user key of any user storage key (key record,
// element, score entry or tombstone), so a replicated op can be checked
// against the partition it is applied to.
func UserKey(sk string) (string, bool) {
	if len(sk) < 1+hashLen {
		return "", false
	}
	switch sk[0] {
	case SpaceKey:
		return sk[1+hashLen:], true
	case SpaceElem, SpaceScore, SpaceTombstone:
		n, w := binary.Uvarint([]byte(sk[1+hashLen : min(len(sk), 1+hashLen+binary.MaxVarintLen64)]))
		start := 1 + hashLen + w
		if w <= 0 || n > uint64(len(sk)-start) {
			return "", false
		}
		return sk[start : start+int(n)], true
	}
	return "", false
}

// splitPrefixed returns, for a storage key in SpaceElem, SpaceScore or
// SpaceTombstone, the length of its prefix up to and including the
// generation, and the generation.
func splitPrefixed(sk string) (prefixLen int, gen uint64, ok bool) {
	key, ok := UserKey(sk)
	if !ok || sk[0] == SpaceKey {
		return 0, 0, false
	}
	end := 1 + hashLen + uvarintLen(uint64(len(key))) + len(key) + 8
	if end > len(sk) {
		return 0, 0, false
	}
	return end, binary.BigEndian.Uint64([]byte(sk[end-8 : end])), true
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// IsUserKey reports whether sk belongs to user data (any space) rather
// than to partition metadata.
func IsUserKey(sk string) bool {
	_, ok := UserKey(sk)
	return ok
}
