package cluster

import (
	"encoding/json"
	"fmt"
)

// ctlEnvelope is the JSON form of a command: its type, then its fields.
type ctlEnvelope struct {
	Type string          `json:"type"`
	Cmd  json.RawMessage `json:"cmd"`
}

// EncodeCommand returns the JSON form of cmd, {"type":…,"cmd":{…}}, the
// bytes a Raft log entry carries. JSON keeps the log readable with ordinary
// tools and lets new fields be added without breaking old entries.
func EncodeCommand(cmd Command) ([]byte, error) {
	if cmd == nil {
		return nil, fmt.Errorf("%w: nil command", ErrBadCommand)
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	return json.Marshal(ctlEnvelope{Type: cmd.CommandType(), Cmd: body})
}

// DecodeCommand parses what EncodeCommand produced. An unknown type is an
// error wrapping ErrBadCommand, so a replica running older code refuses a
// command it does not understand instead of misapplying it.
func DecodeCommand(b []byte) (Command, error) {
	var env ctlEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	var (
		cmd Command
		err error
	)
	switch env.Type {
	case TypeBootstrap:
		cmd, err = ctlDecode[Bootstrap](env.Cmd)
	case TypeNodeUp:
		cmd, err = ctlDecode[NodeUp](env.Cmd)
	case TypeNodeDown:
		cmd, err = ctlDecode[NodeDown](env.Cmd)
	case TypeInSync:
		cmd, err = ctlDecode[InSync](env.Cmd)
	case TypeOutOfSync:
		cmd, err = ctlDecode[OutOfSync](env.Cmd)
	case TypeReplace:
		cmd, err = ctlDecode[Replace](env.Cmd)
	case TypeDecommission:
		cmd, err = ctlDecode[Decommission](env.Cmd)
	case TypeSetRebalance:
		cmd, err = ctlDecode[SetRebalance](env.Cmd)
	case TypeHandoff:
		cmd, err = ctlDecode[Handoff](env.Cmd)
	default:
		return nil, fmt.Errorf("%w: unknown command type %q", ErrBadCommand, env.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadCommand, env.Type, err)
	}
	return cmd, nil
}

func ctlDecode[T Command](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}
