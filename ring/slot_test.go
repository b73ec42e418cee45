package ring

import (
	"bytes"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
)

// Golden slots answered by redis-server 7.0.15 in cluster mode
// (CLUSTER KEYSLOT key).
var goldenSlots = []struct {
	key  string
	slot uint16
}{
	{"123456789", 12739},
	{"foo", 12182},
	{"{user1000}.following", 3443},
	{"{user1000}.followers", 3443},
	{"foo{}{bar}", 8363},    // "{}" first: the whole key is hashed
	{"foo{{bar}}zap", 4015}, // hashes "{bar"
	{"foo{bar}{zap}", 5061}, // hashes "bar"
	{"bar", 5061},
	{"{bar", 4015},
	{"{}", 15257},
	{"", 0},
	{"bar}", 6624},
	{"{", 4092},
	{"}", 12090},
	{"{{}}", 4092}, // hashes "{"
	{"a{b}c", 3300},
	{"{a}{b}", 15495},
	{"hello", 866},
	{"user:{42}:name", 8000},
	{"user:{42}:mail", 8000},
	{"{42}", 8000},
	{"}{foo}", 12182},
	{"foo{bar", 15278},
	{"key:0", 2592},
	{"x{}y{z}", 15453},
	{"\xff\xfe\x00{\x80}", 4488},
	{"\x00", 0},
	{"\xe2\x82\xac{\xe2\x82\xac}", 1997},
	{strings.Repeat("k", 300), 16002},
}

func TestCRC16Golden(t *testing.T) {
	// The check value of CRC16-CCITT (XModem), from Redis's src/crc16.c.
	if got := CRC16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("CRC16(123456789) = %#04x, want 0x31c3", got)
	}
	if got := CRC16(nil); got != 0 {
		t.Fatalf("CRC16(nil) = %#04x, want 0", got)
	}
}

func TestSlotGolden(t *testing.T) {
	for _, g := range goldenSlots {
		if got := Slot([]byte(g.key)); got != g.slot {
			t.Errorf("Slot(%q) = %d, want %d", g.key, got, g.slot)
		}
	}
}

func TestHashTag(t *testing.T) {
	for _, c := range []struct{ key, tag string }{
		{"foo", "foo"},
		{"{user1000}.following", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"},
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
		{"{}", "{}"},
		{"{", "{"},
		{"}{a}", "a"},
		{"a{b", "a{b"},
		{"", ""},
	} {
		if got := string(HashTag([]byte(c.key))); got != c.tag {
			t.Errorf("HashTag(%q) = %q, want %q", c.key, got, c.tag)
		}
	}
}

// naiveCRC16 computes CRC16-CCITT (XModem) bit by bit, without a table.
func naiveCRC16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// naiveSlot follows Redis's keyHashSlot literally.
func naiveSlot(key []byte) uint16 {
	s := bytes.IndexByte(key, '{')
	if s < 0 {
		return naiveCRC16(key) % Slots
	}
	e := bytes.IndexByte(key[s+1:], '}')
	if e <= 0 { // no '}' or nothing between the braces
		return naiveCRC16(key) % Slots
	}
	return naiveCRC16(key[s+1:s+1+e]) % Slots
}

// naivePartition walks the slots in order, handing them to partition 0,
// 1, … so that partition p ends before the first slot s with s*P >= (p+1)*Slots,
// until it reaches the key's slot.
func naivePartition(key []byte, partitions int) int {
	slot := int(naiveSlot(key))
	s := 0
	for p := 0; p < partitions; p++ {
		for s < Slots && s*partitions < (p+1)*Slots {
			if s == slot {
				return p
			}
			s++
		}
	}
	return -1
}

// braceyKey makes keys rich in braces, where hash tag rules matter.
type braceyKey []byte

func (braceyKey) Generate(r *rand.Rand, size int) reflect.Value {
	alphabet := []byte("{}ab\x00\xff")
	k := make([]byte, r.Intn(size+1))
	for i := range k {
		k[i] = alphabet[r.Intn(len(alphabet))]
	}
	return reflect.ValueOf(braceyKey(k))
}

func TestSlotMatchesNaive(t *testing.T) {
	cfg := &quick.Config{MaxCount: 5000, Rand: rand.New(rand.NewSource(1))}
	f := func(k braceyKey, raw []byte) bool {
		return Slot(k) == naiveSlot(k) && Slot(raw) == naiveSlot(raw) && CRC16(raw) == naiveCRC16(raw)
	}
	if err := quick.Check(f, cfg); err != nil {
		t.Fatal(err)
	}
}

func TestPartitionMatchesNaive(t *testing.T) {
	cfg := &quick.Config{MaxCount: 300, Rand: rand.New(rand.NewSource(2))}
	f := func(k braceyKey, shift uint8) bool {
		partitions := 1 << (shift % 15) // 1 … 16384
		return Partition(k, partitions) == naivePartition(k, partitions)
	}
	if err := quick.Check(f, cfg); err != nil {
		t.Fatal(err)
	}
	// Partition counts that are not powers of two follow the same rule.
	f2 := func(raw []byte, n uint16) bool {
		partitions := 1 + int(n)%1000
		return Partition(raw, partitions) == naivePartition(raw, partitions)
	}
	if err := quick.Check(f2, cfg); err != nil {
		t.Fatal(err)
	}
}

func TestSlotRangesCoverAllSlots(t *testing.T) {
	for _, parts := range []int{1, 2, 3, 64, 256, 1000, 1024, 4096, 16384} {
		next := 0
		for p := 0; p < parts; p++ {
			first, last := SlotRange(p, parts)
			if int(first) != next || last < first {
				t.Fatalf("P=%d: partition %d owns [%d, %d], want it to start at %d", parts, p, first, last, next)
			}
			for s := int(first); s <= int(last); s++ {
				if got := PartitionOfSlot(uint16(s), parts); got != p {
					t.Fatalf("P=%d: PartitionOfSlot(%d) = %d, want %d", parts, s, got, p)
				}
			}
			if parts&(parts-1) == 0 && int(last-first+1) != Slots/parts {
				t.Fatalf("P=%d: partition %d owns %d slots, want %d", parts, p, last-first+1, Slots/parts)
			}
			next = int(last) + 1
		}
		if next != Slots {
			t.Fatalf("P=%d: ranges end at %d, want %d", parts, next-1, Slots-1)
		}
	}
}

func TestSlotAndPartitionDoNotAllocate(t *testing.T) {
	key := []byte("user:{12345}:profile")
	if n := testing.AllocsPerRun(100, func() { Partition(key, 1024) }); n != 0 {
		t.Fatalf("Partition allocates %.0f times", n)
	}
	if n := testing.AllocsPerRun(100, func() { Slot(key) }); n != 0 {
		t.Fatalf("Slot allocates %.0f times", n)
	}
}

func BenchmarkSlot(b *testing.B) {
	key := []byte("user:{12345}:profile")
	b.ReportAllocs()
	b.SetBytes(int64(len(key)))
	var s uint16
	for b.Loop() {
		s ^= Slot(key)
	}
	_ = s
}

func BenchmarkPartition(b *testing.B) {
	key := []byte("session:8b1d6a3e-5f0c-4c8e-9d2b")
	b.ReportAllocs()
	b.SetBytes(int64(len(key)))
	var p int
	for b.Loop() {
		p ^= Partition(key, 1024)
	}
	_ = p
}
