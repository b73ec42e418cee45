package ring

import "errors"

// Slots is the number of hash slots, as in Redis Cluster. Keys map to slots
// with the same function Redis uses, so CLUSTER KEYSLOT answers match Redis.
const Slots = 16384

// crc16tab is the CRC16-CCITT (XModem) table Redis Cluster uses.
var crc16tab = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for j := 0; j < 8; j++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// CRC16 returns the CRC16-CCITT (XModem) checksum of b.
func CRC16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16tab[byte(crc>>8)^c]
	}
	return crc
}

// HashTag returns the part of key that is hashed: the bytes between the first
// '{' and the next '}' when that inside is non-empty, else the whole key.
// Related keys such as "user:{42}:name" and "user:{42}:mail" thus share a slot.
func HashTag(key []byte) []byte {
	for i, c := range key {
		if c == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j == i+1 {
						return key // "{}": nothing between the braces, hash the whole key
					}
					return key[i+1 : j]
				}
			}
			return key
		}
	}
	return key
}

// Slot returns the Redis Cluster hash slot of key.
func Slot(key []byte) uint16 {
	return CRC16(HashTag(key)) & (Slots - 1)
}

// PartitionOfSlot returns the partition that owns slot when the cluster has
// partitions partitions (at least 1). Each partition owns one contiguous
// range of slots, so the answer to CLUSTER SLOTS stays one range per
// partition.
func PartitionOfSlot(slot uint16, partitions int) int {
	return int(slot) * partitions / Slots
}

// Partition returns the partition of key among partitions partitions (at
// least 1). It does not allocate.
func Partition(key []byte, partitions int) int {
	return PartitionOfSlot(Slot(key), partitions)
}

// SlotRange returns the first and last slot (inclusive) owned by partition
// p, 0 <= p < partitions. The ranges of partitions 0, 1, … are adjacent and
// cover all slots; with more partitions than Slots some would own none
// (first > last), so partition counts should not exceed Slots.
func SlotRange(p, partitions int) (first, last uint16) {
	lo := (p*Slots + partitions - 1) / partitions
	hi := ((p+1)*Slots+partitions-1)/partitions - 1
	return uint16(lo), uint16(hi)
}

// ValidPartitions checks a partition count: a power of two from 1 to
// Slots, so that every partition is one contiguous range of slots. It is
// the one check every package applies; the error is the rule broken,
// worded to follow the number ("300 is not a power of two").
func ValidPartitions(n int) error {
	switch {
	case n < 1 || n > Slots:
		return errPartitionsRange
	case n&(n-1) != 0:
		return errPartitionsPow2
	}
	return nil
}

var (
	errPartitionsRange = errors.New("is out of range (1 to 16384)")
	errPartitionsPow2  = errors.New("is not a power of two")
)
