package resp

import (
	"bytes"
	"strconv"
)

// Refusals are the errors a shard answers a proxy with when it did not run
// a command because the proxy's routing was out of date; the proxy retries
// them and clients never see them. Each is a type, formatted by its Error
// method on the shard and recognised by ParseRefusal on the proxy: the one
// place their wire form is written down.

// NotMasterError: the shard does not master Partition in the cluster map
// it applied (Epoch is the partition's epoch there). Nothing was run; a
// newer map routes the command elsewhere.
type NotMasterError struct {
	Partition int
	Epoch     uint64
}

func (e NotMasterError) Error() string {
	return "NOTMASTER " + strconv.Itoa(e.Partition) + " " + strconv.FormatUint(e.Epoch, 10)
}

// NoLeaseError: the shard masters Partition but holds no running lease
// from the controller, so another shard may be promoted in its place: it
// serves neither reads nor writes. Nothing was run; the lease comes back
// or a newer map moves the partition.
type NoLeaseError struct {
	Partition int
}

func (e NoLeaseError) Error() string {
	return "NOLEASE " + strconv.Itoa(e.Partition) + noLeaseText
}

const noLeaseText = " master lease expired: this shard cannot reach the cluster controller"

// HandoffError: the shard masters Partition but is handing it over to
// the copy the cluster map places first, and serves it no more at this
// partition epoch. Nothing was run; the next map names the new master.
type HandoffError struct {
	Partition int
}

func (e HandoffError) Error() string {
	return "HANDOFF " + strconv.Itoa(e.Partition) + handoffText
}

const handoffText = " partition being handed over to its new master"

// ParseRefusal returns the refusal a raw shard reply carries (a
// NotMasterError, a NoLeaseError or a HandoffError), or nil when the reply is anything
// else, an error meant for the client included.
func ParseRefusal(reply []byte) error {
	if len(reply) < 2 || reply[0] != '-' {
		return nil
	}
	line := reply[1:]
	if i := bytes.IndexByte(line, '\r'); i >= 0 {
		line = line[:i]
	}
	word, rest, _ := bytes.Cut(line, []byte{' '})
	switch string(word) {
	case "NOTMASTER":
		ps, es, _ := bytes.Cut(rest, []byte{' '})
		p, err1 := strconv.Atoi(string(ps))
		e, err2 := strconv.ParseUint(string(es), 10, 64)
		if err1 != nil || err2 != nil {
			return nil
		}
		return NotMasterError{Partition: p, Epoch: e}
	case "NOLEASE":
		ps, _, _ := bytes.Cut(rest, []byte{' '})
		p, err := strconv.Atoi(string(ps))
		if err != nil {
			return nil
		}
		return NoLeaseError{Partition: p}
	case "HANDOFF":
		ps, _, _ := bytes.Cut(rest, []byte{' '})
		p, err := strconv.Atoi(string(ps))
		if err != nil {
			return nil
		}
		return HandoffError{Partition: p}
	}
	return nil
}
