package configs

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shardis/shardis/resp"
	"github.com/shardis/shardis/ring"
)

// DefaultPartitions is the partition count of a new cluster. Each partition
// is one BuntDB store (a file, a goroutine and some memory on its shard), so
// it is kept in the few-hundreds: enough to spread load evenly over dozens of
// shards, small enough to open quickly.
const DefaultPartitions = 256

// DefaultLogLevel is the log level of every role.
const DefaultLogLevel = "info"

// Limits bounds what one connection may send. It is inlined in each role's
// file, so its keys sit at the top level next to the other settings.
type Limits struct {
	// MaxBulkLen is the largest bulk string (key or value) accepted.
	MaxBulkLen Size `yaml:"max-bulk-len"`
	// MaxArgs is the largest number of arguments in one command.
	MaxArgs int `yaml:"max-args"`
	// MaxInlineLen is the longest inline (non-RESP, telnet-style) command line.
	MaxInlineLen Size `yaml:"max-inline-len"`
	// MaxQueryBuffer caps the unparsed input buffered for one connection;
	// a client that exceeds it is disconnected.
	MaxQueryBuffer Size `yaml:"max-query-buffer"`
}

// DefaultLimits returns the resp package's defaults, so files and flags start
// from the same values the servers would pick for zero fields.
func DefaultLimits() Limits {
	d := resp.Limits{}.WithDefaults()
	return Limits{
		MaxBulkLen:     Size(d.MaxBulkLen),
		MaxArgs:        d.MaxArgs,
		MaxInlineLen:   Size(d.MaxInlineLen),
		MaxQueryBuffer: Size(d.MaxQueryBuffer),
	}
}

// ToResp converts to the runtime struct.
func (l Limits) ToResp() resp.Limits {
	return resp.Limits{
		MaxBulkLen:     int64(l.MaxBulkLen),
		MaxArgs:        l.MaxArgs,
		MaxInlineLen:   int(l.MaxInlineLen),
		MaxQueryBuffer: int64(l.MaxQueryBuffer),
	}
}

func (l Limits) validate(p *problems) {
	p.positive("max-bulk-len", int64(l.MaxBulkLen), l.MaxBulkLen.String())
	p.positive("max-args", int64(l.MaxArgs), strconv.Itoa(l.MaxArgs))
	if l.MaxArgs > math.MaxInt32 {
		p.add("max-args", strconv.Itoa(l.MaxArgs), "is larger than 2147483647")
	}
	p.positive("max-inline-len", int64(l.MaxInlineLen), l.MaxInlineLen.String())
	if l.MaxInlineLen > math.MaxInt32 {
		p.add("max-inline-len", l.MaxInlineLen.String(), "is larger than 2gb")
	}
	p.positive("max-query-buffer", int64(l.MaxQueryBuffer), l.MaxQueryBuffer.String())
	if l.MaxQueryBuffer > 0 && l.MaxBulkLen > l.MaxQueryBuffer {
		p.add("max-bulk-len", l.MaxBulkLen.String(),
			fmt.Sprintf("is larger than max-query-buffer (%s): such a value could never be read", l.MaxQueryBuffer))
	}
}

func (l *Limits) registerFlags(fs *flag.FlagSet) {
	fs.Var(&l.MaxBulkLen, "max-bulk-len", "largest bulk string (key or value) a client may send, as a `SIZE`: bytes, or 64kb, 512mb, 1gb")
	fs.IntVar(&l.MaxArgs, "max-args", l.MaxArgs, "largest `COUNT` of arguments in one command")
	fs.Var(&l.MaxInlineLen, "max-inline-len", "longest inline (telnet-style) command line, as a `SIZE`")
	fs.Var(&l.MaxQueryBuffer, "max-query-buffer", "most unparsed input (`SIZE`) buffered for one connection before it is closed")
}

// ParseLogLevel maps debug, info, warn and error to slog levels.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not a log level (debug, info, warn, error)", s)
}

// problems collects every validation failure of one file, each prefixed with
// the role and the field, so one run of Validate shows all of them.
type problems struct {
	role string
	errs []error
}

func (p *problems) add(field, value, msg string) {
	p.errs = append(p.errs, fmt.Errorf("%s.%s: %s %s", p.role, field, value, msg))
}

func (p *problems) positive(field string, n int64, shown string) {
	if n <= 0 {
		p.add(field, shown, "must be positive")
	}
}

func (p *problems) partitions(n int) {
	if err := ring.ValidPartitions(n); err != nil {
		p.add("partitions", strconv.Itoa(n), err.Error())
	}
}

func (p *problems) logLevel(s string) {
	if _, err := ParseLogLevel(s); err != nil {
		p.add("log-level", strconv.Quote(s), "is not a log level (debug, info, warn, error)")
	}
}

// addr checks a HOST:PORT listen or dial address; empty is allowed only when
// optional.
func (p *problems) addr(field, a string, optional bool) {
	if a == "" {
		if !optional {
			p.add(field, `""`, "is required (HOST:PORT)")
		}
		return
	}
	if msg := checkAddr(a); msg != "" {
		p.add(field, strconv.Quote(a), msg)
	}
}

func checkAddr(a string) string {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return "is not HOST:PORT"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "has no valid port (0 to 65535)"
	}
	return ""
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// load decodes a YAML file into v, which already holds the defaults, so keys
// the file leaves out keep their default values.
func load(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := decode(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func decode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
