package rdb

import (
	"errors"
	"fmt"
)

// An RDB file (rdb.c, rdbSaveRio) is the magic "REDIS" and a 4-digit
// version, a sequence of records, the EOF opcode and, from version 5, the
// CRC64 of everything before the checksum, little-endian (0 when the
// writer had rdbchecksum off). A record is either an opcode with its
// operands or a key: its object type byte, the key as a string, and the
// object, exactly as a DUMP payload holds it.
const (
	fileMagic = "REDIS"

	opFunctionPreGA = 0xF6 // a Redis 7.0 release candidate's function library
	opFunction2     = 0xF5 // a function library: its code as one string
	opModuleAux     = 0xF7 // module data outside any key
	opIdle          = 0xF8 // the next key's LRU idle time, a length
	opFreq          = 0xF9 // the next key's LFU counter, one byte
	opAux           = 0xFA // a field and a value, both strings
	opResizeDB      = 0xFB // the key and expire counts of the database, two lengths
	opExpireMS      = 0xFC // the next key's expiry, Unix ms, 8 bytes little-endian
	opExpire        = 0xFD // the next key's expiry, Unix seconds, 4 bytes little-endian
	opSelectDB      = 0xFE // the database of the keys that follow, a length
	opEOF           = 0xFF
)

// MaxFileVersion is the newest RDB file version NewReader accepts: 11,
// which Redis 7.2 writes, differs from 10 only by its listpack sets, which
// DecodeDump reads. 12 and later add types (hash field expiry) the engine
// does not have.
const MaxFileVersion = 11

// typeStreamListpacks3 is Redis 7.2's stream, refused like the others.
const typeStreamListpacks3 byte = 21

// checksumVersion is the first RDB version that ends with a checksum.
const checksumVersion = 5

// Errors of Reader. Format problems found in a record wrap ErrFormat.
var (
	ErrNotRDB       = errors.New("rdb: not an RDB file (it does not start with REDIS and a version)")
	ErrNewerVersion = errors.New("rdb: the file's RDB version is too new")
	ErrFileChecksum = errors.New("rdb: the file's checksum does not match its contents")
	ErrTruncated    = fmt.Errorf("%w: the file ends in the middle of a record", ErrFormat)
	ErrTooLarge     = errors.New("rdb: object larger than the reader's limit")
)

// DefaultMaxObject is ReaderOptions.MaxObject's default, Redis's own
// proto-max-bulk-len: no larger object could travel in a RESTORE.
const DefaultMaxObject = 512 << 20

// NoExpire is Entry.ExpireAt, and Writer's expireAt, for a key without a
// TTL, as PEXPIRETIME answers -1 for one.
const NoExpire = -1

// typeName names an object type for error messages.
func typeName(t byte) string {
	switch t {
	case TypeString:
		return "string"
	case TypeList, TypeListZiplist, TypeListQuicklist, TypeListQuicklist2:
		return "list"
	case TypeSet, TypeSetIntset, TypeSetListpack:
		return "set"
	case TypeZSet, TypeZSet2, TypeZSetZiplist, TypeZSetListpack:
		return "zset"
	case TypeHash, TypeHashZipmap, TypeHashZiplist, TypeHashListpack:
		return "hash"
	case TypeStreamListpacks, TypeStreamListpack2, typeStreamListpacks3:
		return "stream"
	case TypeModule, TypeModule2:
		return "module"
	}
	return fmt.Sprintf("unknown (%d)", t)
}
