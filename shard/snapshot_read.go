package shard

import "io"

// ReadSnapshot reads a snapshot of partition pid (the format described in
// snapshot.go) from r as a stream, calling fn with each record's storage
// key and value, exactly as stored, in storage-key order. It is how tools
// outside a shard (backup, restore) read a snapshot without holding it
// whole. maxItem bounds one key or value in bytes, so a corrupt length
// cannot make it allocate more than that.
//
// The whole stream is verified as it is read: header, partition, record
// order and form, record count and checksum, and that nothing follows the
// checksum. A bad snapshot gives an error wrapping ErrBadSnapshot, which
// may come after fn has seen some records: a caller that must not act on
// a bad snapshot reads it through once before using it. An error from fn
// stops the read and is returned as it is. It returns the seq the snapshot
// is consistent with.
func ReadSnapshot(r io.Reader, pid int, maxItem uint64, fn func(key, value string) error) (seq uint64, err error) {
	seq, _, err = readSnapshot(r, pid, maxItem, fn)
	return seq, err
}
