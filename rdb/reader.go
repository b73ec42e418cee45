package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"math"
	"slices"
)

// ReaderOptions tune a Reader. The zero value is ready to use.
type ReaderOptions struct {
	// MaxObject bounds one key's object (and the key itself, and any
	// other record) in bytes, so that a corrupt length cannot make the
	// reader buffer the rest of a large file. Zero means
	// DefaultMaxObject; a key past it fails with ErrTooLarge.
	MaxObject int64
}

// Entry is one key of an RDB file. Its slices are its own: they stay
// valid after the next call to Next.
type Entry struct {
	// DB is the database the key is in (SELECTDB): Redis Cluster, like
	// Shardis, has only database 0.
	DB int
	// Key is the key's name.
	Key []byte
	// ExpireAt is when the key expires, in Unix milliseconds, or
	// NoExpire. A key already expired is reported as it is.
	ExpireAt int64
	// Object is the key's RDB object: its type byte, then the object,
	// exactly the start of a DUMP payload.
	Object []byte
}

// TypeName is the Redis type of the entry's object ("string", "list" …).
func (e *Entry) TypeName() string { return typeName(e.Object[0]) }

// Value decodes the entry's object (the reader only finds where it ends).
func (e *Entry) Value() (Value, error) {
	if len(e.Object) == 0 {
		return Value{}, ErrFormat
	}
	r := reader{b: e.Object, off: 1}
	v, err := r.object(e.Object[0])
	if err != nil {
		return Value{}, err
	}
	if r.off != len(e.Object) {
		return Value{}, ErrFormat
	}
	v.ObjType = e.Object[0]
	return v, nil
}

// Dump returns the entry's object as a DUMP payload, which RESTORE takes
// whatever encoding the object is in.
func (e *Entry) Dump() []byte {
	b := make([]byte, 0, len(e.Object)+10)
	b = append(b, e.Object...)
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, checksum(b))
}

// Reader reads an RDB file as redis-server saves it (RDB versions 1 to
// MaxFileVersion), one key at a time: however large the file, it holds
// only the key being read. It finds where each object ends without
// decoding it; Entry.Value decodes. AUX fields, RESIZEDB and LRU/LFU
// data are read and dropped (Aux keeps the AUX fields); function
// libraries are skipped and counted (the engine has no functions);
// module data and stream keys are errors, since the engine cannot hold
// them. Keys of every database are returned, each with its DB: the
// caller decides what to do with databases other than 0.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	// Version is the file's RDB version.
	Version int
	// Aux holds the AUX fields read so far, in file order (redis-ver,
	// ctime, used-mem …).
	Aux []Pair
	// Functions counts the function libraries (FUNCTION2 records) skipped
	// so far.
	Functions int

	src  source
	db   int
	done bool
}

// NewReader reads the file's magic and version from r; r is read
// through a buffer of its own.
func NewReader(r io.Reader, opt ReaderOptions) (*Reader, error) {
	if opt.MaxObject <= 0 {
		opt.MaxObject = DefaultMaxObject
	}
	rd := &Reader{src: source{br: bufio.NewReaderSize(r, 64<<10), max: opt.MaxObject}}
	if err := rd.src.take(9); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrNotRDB
		}
		return nil, err
	}
	head := rd.src.buf
	if string(head[:5]) != fileMagic {
		return nil, ErrNotRDB
	}
	v := 0
	for _, c := range head[5:] {
		if c < '0' || c > '9' {
			return nil, ErrNotRDB
		}
		v = v*10 + int(c-'0')
	}
	if v < 1 {
		return nil, ErrNotRDB
	}
	if v > MaxFileVersion {
		return nil, fmt.Errorf("%w: %d, this reader reads up to %d (a Redis after 7.2 wrote the file)", ErrNewerVersion, v, MaxFileVersion)
	}
	rd.Version = v
	return rd, nil
}

// Offset is how many bytes of the file have been read, for progress.
func (r *Reader) Offset() int64 { return r.src.off }

// Next returns the next key, or io.EOF after the EOF record once the
// checksum is verified (a file whose checksum is 0 was written with
// checksums off and is not verified, as Redis does).
func (r *Reader) Next() (*Entry, error) {
	if r.done {
		return nil, io.EOF
	}
	s := &r.src
	expireAt := int64(NoExpire)
	for {
		at := s.off
		s.buf = nil
		op, err := s.byte()
		if err != nil {
			return nil, r.fail(at, err)
		}
		switch op {
		case opEOF:
			return nil, r.finish()
		case opSelectDB:
			n, err := s.plainLen()
			if err != nil {
				return nil, r.fail(at, err)
			}
			if n > math.MaxInt32 {
				return nil, r.fail(at, fmt.Errorf("%w: database %d", ErrFormat, n))
			}
			r.db = int(n)
		case opResizeDB:
			if _, err := s.plainLen(); err != nil {
				return nil, r.fail(at, err)
			}
			if _, err := s.plainLen(); err != nil {
				return nil, r.fail(at, err)
			}
		case opExpireMS:
			if err := s.take(8); err != nil {
				return nil, r.fail(at, err)
			}
			expireAt = int64(binary.LittleEndian.Uint64(s.buf[1:]))
		case opExpire:
			if err := s.take(4); err != nil {
				return nil, r.fail(at, err)
			}
			expireAt = int64(int32(binary.LittleEndian.Uint32(s.buf[1:]))) * 1000
		case opFreq:
			if _, err := s.byte(); err != nil {
				return nil, r.fail(at, err)
			}
		case opIdle:
			if _, err := s.plainLen(); err != nil {
				return nil, r.fail(at, err)
			}
		case opAux:
			field, err := s.decodedStr()
			if err != nil {
				return nil, r.fail(at, err)
			}
			value, err := s.decodedStr()
			if err != nil {
				return nil, r.fail(at, err)
			}
			r.Aux = append(r.Aux, Pair{Field: field, Value: value})
		case opFunction2:
			if err := s.str(); err != nil {
				return nil, r.fail(at, err)
			}
			r.Functions++
		case opFunctionPreGA:
			return nil, r.fail(at, fmt.Errorf("%w: function library in the format of a Redis 7.0 release candidate", ErrUnsupported))
		case opModuleAux:
			return nil, r.fail(at, fmt.Errorf("%w: module data (MODULE_AUX); the file needs a Redis module to load", ErrUnsupported))
		default:
			e, err := r.key(op, at)
			if err != nil {
				return nil, err
			}
			e.ExpireAt = expireAt
			return e, nil
		}
	}
}

// key reads the key and object of a key record of type t.
func (r *Reader) key(t byte, at int64) (*Entry, error) {
	s := &r.src
	if !knownType(t) {
		return nil, r.fail(at, fmt.Errorf("%w: unknown record type %d", ErrFormat, t))
	}
	key, err := s.decodedStr()
	if err != nil {
		return nil, r.fail(at, err)
	}
	switch t {
	case TypeStreamListpacks, TypeStreamListpack2, typeStreamListpacks3, TypeModule, TypeModule2:
		return nil, fmt.Errorf("rdb: key %q (offset %d) is a %s: %w", key, at, typeName(t), ErrUnsupported)
	}
	s.buf = []byte{t}
	if err := s.object(t); err != nil {
		return nil, fmt.Errorf("rdb: key %q (offset %d): %w", key, at, r.ioErr(err))
	}
	e := &Entry{DB: r.db, Key: key, Object: s.buf}
	s.buf = nil
	return e, nil
}

// finish checks the checksum after the EOF record.
func (r *Reader) finish() error {
	r.done = true
	if r.Version < checksumVersion {
		return io.EOF
	}
	s := &r.src
	sum := s.crc
	at := s.off
	s.buf = nil
	if err := s.take(8); err != nil {
		return r.fail(at, err)
	}
	if want := binary.LittleEndian.Uint64(s.buf); want != 0 && want != sum {
		return fmt.Errorf("%w (file says %016x, contents give %016x)", ErrFileChecksum, want, sum)
	}
	return io.EOF
}

// fail wraps an error found in the record at offset at.
func (r *Reader) fail(at int64, err error) error {
	r.done = true
	return fmt.Errorf("rdb: record at offset %d: %w", at, r.ioErr(err))
}

func (r *Reader) ioErr(err error) error {
	r.done = true
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}

// knownType reports whether t is an object type of some Redis version.
func knownType(t byte) bool {
	return t <= TypeModule2 || t >= TypeHashZipmap && t <= typeStreamListpacks3
}

// source reads the file, keeping the offset, the running checksum and
// the bytes of the record being read (buf), which it bounds by max.
type source struct {
	br  *bufio.Reader
	off int64
	crc uint64
	buf []byte
	max int64
}

func (s *source) byte() (byte, error) {
	c, err := s.br.ReadByte()
	if err != nil {
		return 0, err
	}
	if int64(len(s.buf)) >= s.max {
		return 0, ErrTooLarge
	}
	s.off++
	s.crc = crcTable[byte(s.crc)^c] ^ s.crc>>8
	s.buf = append(s.buf, c)
	return c, nil
}

// take appends the next n bytes to buf. It grows buf as bytes arrive, so
// that a length larger than the file costs no more than the file.
func (s *source) take(n uint64) error {
	if n > uint64(s.max-int64(len(s.buf))) {
		return ErrTooLarge
	}
	for n > 0 {
		chunk := int(min(n, 64<<10))
		start := len(s.buf)
		s.buf = slices.Grow(s.buf, chunk)[:start+chunk]
		got, err := io.ReadFull(s.br, s.buf[start:])
		s.off += int64(got)
		s.crc = ^crc64.Update(^s.crc, crcTable, s.buf[start:start+got])
		if err != nil {
			s.buf = s.buf[:start+got]
			return err
		}
		n -= uint64(chunk)
	}
	return nil
}

// length reads a length or string-encoding marker, as reader.length
// decodes it.
func (s *source) length() (n uint64, encoded bool, err error) {
	start := len(s.buf)
	c, err := s.byte()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c>>6 == len14:
		err = s.take(1)
	case c == len32:
		err = s.take(4)
	case c == len64:
		err = s.take(8)
	}
	if err != nil {
		return 0, false, err
	}
	r := reader{b: s.buf[start:]}
	return r.length()
}

// plainLen reads a length where no string can be: like Redis's
// rdbLoadLen without an encoding flag, it takes a special-encoding
// byte's low bits as the length.
func (s *source) plainLen() (uint64, error) {
	n, _, err := s.length()
	return n, err
}

// str reads one string of any encoding (raw, integer, LZF).
func (s *source) str() error {
	n, encoded, err := s.length()
	if err != nil {
		return err
	}
	if !encoded {
		return s.take(n)
	}
	switch n {
	case encInt8:
		return s.take(1)
	case encInt16:
		return s.take(2)
	case encInt32:
		return s.take(4)
	case encLZF:
		clen, err := s.plainLen()
		if err != nil {
			return err
		}
		if _, err := s.plainLen(); err != nil {
			return err
		}
		return s.take(clen)
	}
	return ErrFormat
}

// decodedStr reads a string and returns its value, in a slice of its own.
func (s *source) decodedStr() ([]byte, error) {
	start := len(s.buf)
	if err := s.str(); err != nil {
		return nil, err
	}
	r := reader{b: s.buf[start:]}
	v, err := r.str()
	if err != nil {
		return nil, err
	}
	return v, nil // v may alias buf, which is only appended to until the record ends
}

// object reads the object of type t, as reader.object would consume it.
func (s *source) object(t byte) error {
	switch t {
	case TypeString, TypeHashZipmap, TypeListZiplist, TypeSetIntset, TypeZSetZiplist,
		TypeHashZiplist, TypeHashListpack, TypeZSetListpack, TypeSetListpack:
		return s.str()
	case TypeList, TypeSet, TypeListQuicklist:
		return s.strs(1)
	case TypeHash:
		return s.strs(2)
	case TypeZSet, TypeZSet2, TypeListQuicklist2:
		n, err := s.plainLen()
		if err != nil {
			return err
		}
		for range n {
			switch t {
			case TypeListQuicklist2:
				if _, err := s.plainLen(); err != nil { // the node's container
					return err
				}
				err = s.str()
			case TypeZSet2:
				if err = s.str(); err == nil {
					err = s.take(8)
				}
			default:
				if err = s.str(); err == nil {
					err = s.strDouble()
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: object type %d", ErrFormat, t)
}

// strs reads a count and per counted item per strings.
func (s *source) strs(per uint64) error {
	n, err := s.plainLen()
	if err != nil {
		return err
	}
	for range n {
		for range per {
			if err := s.str(); err != nil {
				return err
			}
		}
	}
	return nil
}

// strDouble reads a score of the old sorted-set type: a length byte, of
// which 253 to 255 stand for NaN and the infinities, and the digits.
func (s *source) strDouble() error {
	n, err := s.byte()
	if err != nil || n >= 253 {
		return err
	}
	return s.take(uint64(n))
}
