package repl

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"slices"
	"testing"
)

func TestEffectEncoding(t *testing.T) {
	cases := []Effect{
		{Partition: 0, Seq: 1, Ops: []Op{}},
		{Partition: 16383, Seq: 1<<64 - 1, Ops: []Op{
			{Key: "\x00\x00\x00\x00", Value: "\x00\x01record"},
			{Del: true, Key: "kk"},
			{Del: true},
			{Key: "kbin\x00\r\n", Value: string(make([]byte, 300))},
		}},
	}
	for _, e := range cases {
		b := AppendEffect([]byte("prefix"), e)
		got, err := DecodeEffect(b[len("prefix"):])
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip of %+v: %+v %v", e, got, err)
		}
		enc := b[len("prefix"):]
		for i := range enc { // any single corrupted byte is detected
			bad := slices.Clone(enc)
			bad[i] ^= 0x20
			if _, err := DecodeEffect(bad); !errors.Is(err, ErrBadEffect) {
				t.Fatalf("corrupted byte %d not detected: %v", i, err)
			}
		}
		for n := range len(enc) {
			if _, err := DecodeEffect(enc[:n]); !errors.Is(err, ErrBadEffect) {
				t.Fatalf("truncation to %d bytes not detected: %v", n, err)
			}
		}
	}
}

func FuzzDecodeEffect(f *testing.F) {
	f.Add(AppendEffect(nil, Effect{Partition: 3, Seq: 9, Ops: []Op{{Key: "abcdk", Value: "v"}, {Del: true, Key: "abcdx"}, {Del: true}}}))
	f.Add(AppendEffect(nil, Effect{}))
	f.Add([]byte{1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		// As given, and with a valid checksum so the body parser is explored.
		withCRC := binary.BigEndian.AppendUint32(slices.Clone(b), crc32.Checksum(b, Castagnoli))
		for _, in := range [][]byte{b, withCRC} {
			e, err := DecodeEffect(in)
			if err != nil {
				continue
			}
			// What decodes re-encodes to something that decodes the same.
			again, err := DecodeEffect(AppendEffect(nil, e))
			if err != nil || !reflect.DeepEqual(again, e) {
				t.Fatalf("re-encoding %+v: %+v %v", e, again, err)
			}
		}
	})
}
