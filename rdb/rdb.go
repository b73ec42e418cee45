// Package rdb encodes and decodes values in Redis's RDB serialization, as
// DUMP and RESTORE carry them.
//
// A DUMP payload is one RDB object (its type byte, then the object), the
// RDB version as 2 little-endian bytes, and a CRC64 of everything before
// it, little-endian. EncodeDump writes what Redis 7.0 writes for the same
// value, byte for byte, where Redis's output is a function of the value
// (listpacks, intsets, quicklists, skiplist zsets, LZF compression);
// DecodeDump reads everything Redis 7.0 can load from a DUMP payload,
// including the encodings older versions wrote.
//
// Reader and Writer do the same for whole RDB files as redis-server
// saves them: a file's keys hold the same objects as DUMP payloads.
package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"math"
	"math/bits"
)

// Kind is a value's Redis data type.
type Kind uint8

// The data types a payload can hold.
const (
	KindString Kind = iota + 1
	KindList
	KindSet
	KindHash
	KindZSet
)

// Encoding is the object encoding a collection is written in (EncodeDump)
// or was read from (DecodeDump). DUMP writes a collection in the encoding
// Redis holds it in, which depends on its history (an encoding never moves
// back down), so the caller says which.
type Encoding uint8

// Object encodings, as OBJECT ENCODING names them.
const (
	// EncAuto picks the encoding Redis 7.0 gives a new value of this size
	// at default thresholds.
	EncAuto Encoding = iota
	EncListpack
	EncIntset
	EncHashtable
	EncSkiplist
	EncQuicklist
)

// RDB object types, the first byte of a payload.
const (
	TypeString          byte = 0
	TypeList            byte = 1
	TypeSet             byte = 2
	TypeZSet            byte = 3
	TypeHash            byte = 4
	TypeZSet2           byte = 5
	TypeModule          byte = 6
	TypeModule2         byte = 7
	TypeHashZipmap      byte = 9
	TypeListZiplist     byte = 10
	TypeSetIntset       byte = 11
	TypeZSetZiplist     byte = 12
	TypeHashZiplist     byte = 13
	TypeListQuicklist   byte = 14
	TypeStreamListpacks byte = 15
	TypeHashListpack    byte = 16
	TypeZSetListpack    byte = 17
	TypeListQuicklist2  byte = 18
	TypeStreamListpack2 byte = 19
	TypeSetListpack     byte = 20 // Redis 7.2; read, never written
)

// Version is the RDB version Redis 7.0 writes; payloads of a higher
// version are refused.
const Version = 10

// Pair is one field of a hash.
type Pair struct {
	Field, Value []byte
}

// ZMember is one member of a sorted set.
type ZMember struct {
	Member []byte
	Score  float64
}

// Value is a key's value. Only the field of its Kind is used: Str for a
// string, Elems for a list (head first) or a set, Fields for a hash, ZSet
// for a sorted set (in any order: EncodeDump sorts).
type Value struct {
	Kind Kind
	// Enc is the encoding to write (EncodeDump), or the one the payload
	// used (DecodeDump: EncAuto for a string).
	Enc Encoding
	// ObjType is the RDB object type the payload used (DecodeDump only):
	// Redis decides a restored value's encoding from it.
	ObjType byte

	Str    []byte
	Elems  [][]byte
	Fields []Pair
	ZSet   []ZMember
}

// Errors of DecodeDump. ErrUnsupported wraps ErrFormat.
var (
	ErrChecksum    = errors.New("rdb: DUMP payload version or checksum are wrong")
	ErrFormat      = errors.New("rdb: bad data format")
	ErrUnsupported = fmt.Errorf("%w: type not supported", ErrFormat)
)

// Default encoding thresholds of Redis 7.0, for EncAuto.
const (
	defHashMaxListpackEntries = 512
	defHashMaxListpackValue   = 64
	defSetMaxIntsetEntries    = 512
	defZSetMaxListpackEntries = 128
	defZSetMaxListpackValue   = 64
)

// EncodeDump returns v's DUMP payload.
func EncodeDump(v Value) []byte {
	b := appendObject(nil, v)
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, checksum(b))
}

// DecodeDump parses a DUMP payload, checking its version and checksum
// first, as Redis's RESTORE does.
func DecodeDump(payload []byte) (Value, error) {
	if err := VerifyDump(payload); err != nil {
		return Value{}, err
	}
	// Redis reads the object from the whole payload, footer included, and
	// ignores whatever follows it: so do we.
	r := reader{b: payload}
	t, err := r.byte()
	if err != nil {
		return Value{}, err
	}
	v, err := r.object(t)
	if err != nil {
		return Value{}, err
	}
	v.ObjType = t
	return v, nil
}

// VerifyDump checks a payload's footer as Redis's verifyDumpPayload does:
// at least 10 bytes, a version no higher than ours, and a matching CRC.
func VerifyDump(payload []byte) error {
	n := len(payload)
	if n < 10 {
		return ErrChecksum
	}
	footer := payload[n-10:]
	if binary.LittleEndian.Uint16(footer) > Version {
		return ErrChecksum
	}
	if checksum(payload[:n-8]) != binary.LittleEndian.Uint64(footer[2:]) {
		return ErrChecksum
	}
	return nil
}

// appendObject appends v's type byte and object.
func appendObject(b []byte, v Value) []byte {
	switch v.Kind {
	case KindString:
		b = append(b, TypeString)
		return appendString(b, v.Str)
	case KindList:
		b = append(b, TypeListQuicklist2)
		return appendQuicklist(b, v.Elems)
	case KindSet:
		if v.Enc == EncIntset || v.Enc == EncAuto && len(v.Elems) <= defSetMaxIntsetEntries {
			if is, ok := makeIntset(v.Elems); ok {
				b = append(b, TypeSetIntset)
				return appendString(b, is)
			}
		}
		b = append(b, TypeSet)
		b = appendLen(b, uint64(len(v.Elems)))
		for _, e := range v.Elems {
			b = appendString(b, e)
		}
		return b
	case KindHash:
		if v.Enc == EncListpack || v.Enc == EncAuto && hashFits(v.Fields) {
			var lp listpack
			for _, p := range v.Fields {
				lp.append(p.Field)
				lp.append(p.Value)
			}
			b = append(b, TypeHashListpack)
			return appendString(b, lp.bytes())
		}
		b = append(b, TypeHash)
		b = appendLen(b, uint64(len(v.Fields)))
		for _, p := range v.Fields {
			b = appendString(b, p.Field)
			b = appendString(b, p.Value)
		}
		return b
	case KindZSet:
		zs := sortedZSet(v.ZSet)
		if v.Enc == EncListpack || v.Enc == EncAuto && zsetFits(zs) {
			var lp listpack
			for _, m := range zs {
				lp.append(m.Member)
				lp.append(formatScore(m.Score))
			}
			b = append(b, TypeZSetListpack)
			return appendString(b, lp.bytes())
		}
		// A skiplist is written from the greatest element down, so that
		// loading inserts each at the head.
		b = append(b, TypeZSet2)
		b = appendLen(b, uint64(len(zs)))
		for i := len(zs) - 1; i >= 0; i-- {
			b = appendString(b, zs[i].Member)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(zs[i].Score))
		}
		return b
	}
	panic(fmt.Sprintf("rdb: EncodeDump of kind %d", v.Kind))
}

func hashFits(fields []Pair) bool {
	if len(fields) > defHashMaxListpackEntries {
		return false
	}
	for _, p := range fields {
		if len(p.Field) > defHashMaxListpackValue || len(p.Value) > defHashMaxListpackValue {
			return false
		}
	}
	return true
}

func zsetFits(zs []ZMember) bool {
	if len(zs) > defZSetMaxListpackEntries {
		return false
	}
	for _, m := range zs {
		if len(m.Member) > defZSetMaxListpackValue {
			return false
		}
	}
	return true
}

// crcTable is Redis's CRC-64: the Jones polynomial, reflected, with no
// inversion before or after (crc64.c).
var crcTable = crc64.MakeTable(bits.Reverse64(0xad93d23594c935a9))

// checksum is Redis's crc64(0, b). hash/crc64 inverts the register before
// and after; starting from all ones and inverting the result undoes both.
func checksum(b []byte) uint64 {
	return ^crc64.Update(^uint64(0), crcTable, b)
}
