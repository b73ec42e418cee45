package cluster

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Faults cuts one node's cluster traffic — gossip, and its requests to the
// controller (map, reports, leases) — on demand, to test network
// partitions in one process. It sits below the network boundary: the node
// itself runs unchanged and only sees its packets and connections fail.
// Its RESP data path (clients, proxies, replication) is not cut, which is
// the harder case: a master cut off from the cluster that clients can
// still reach. A nil *Faults never cuts anything.
type Faults struct {
	cut atomic.Bool

	mu    sync.Mutex
	conns map[*flConn]struct{} // open connections, closed by Isolate
}

// Isolate cuts the node off: its gossip is dropped both ways, its open
// connections are closed (an answer already on its way is lost too) and
// new ones fail.
func (f *Faults) Isolate() {
	f.cut.Store(true)
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Conn.Close()
	}
	clear(f.conns)
}

// track wraps c so that Isolate closes it.
func (f *Faults) track(c net.Conn) net.Conn {
	fc := &flConn{Conn: c, f: f}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		f.conns = make(map[*flConn]struct{})
	}
	f.conns[fc] = struct{}{}
	return fc
}

// Heal restores the node's traffic.
func (f *Faults) Heal() { f.cut.Store(false) }

// Isolated reports whether the node is cut off now.
func (f *Faults) Isolated() bool { return f != nil && f.cut.Load() }

var errIsolated = errors.New("cluster: network cut by fault injection")

// flTransport is memberlist's UDP/TCP transport with Faults applied.
type flTransport struct {
	*memberlist.NetTransport
	f       *Faults
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

func newFlTransport(nt *memberlist.NetTransport, f *Faults) *flTransport {
	t := &flTransport{NetTransport: nt, f: f, packets: make(chan *memberlist.Packet),
		streams: make(chan net.Conn), done: make(chan struct{})}
	t.wg.Add(2)
	go func() {
		defer t.wg.Done()
		for {
			select {
			case p := <-nt.PacketCh():
				if f.Isolated() {
					continue
				}
				select {
				case t.packets <- p:
				case <-t.done:
					return
				}
			case <-t.done:
				return
			}
		}
	}()
	go func() {
		defer t.wg.Done()
		for {
			select {
			case c := <-nt.StreamCh():
				if f.Isolated() {
					_ = c.Close()
					continue
				}
				select {
				case t.streams <- f.track(c):
				case <-t.done:
					_ = c.Close()
					return
				}
			case <-t.done:
				return
			}
		}
	}()
	return t
}

func (t *flTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *flTransport) StreamCh() <-chan net.Conn           { return t.streams }

func (t *flTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.f.Isolated() {
		return time.Now(), nil // lost on the way
	}
	return t.NetTransport.WriteTo(b, addr)
}

func (t *flTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.f.Isolated() {
		return time.Now(), nil
	}
	return t.NetTransport.WriteToAddress(b, a)
}

func (t *flTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.f.Isolated() {
		return nil, errIsolated
	}
	c, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return t.f.track(c), nil
}

func (t *flTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.f.Isolated() {
		return nil, errIsolated
	}
	c, err := t.NetTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return t.f.track(c), nil
}

func (t *flTransport) Shutdown() error {
	err := t.NetTransport.Shutdown()
	t.once.Do(func() { close(t.done) })
	t.wg.Wait()
	return err
}

// flConn is a connection that fails while its node is isolated, so that
// connections opened before the cut stop working too.
type flConn struct {
	net.Conn
	f *Faults
}

func (c *flConn) Read(b []byte) (int, error) {
	if c.f.Isolated() {
		_ = c.Conn.Close()
		return 0, errIsolated
	}
	return c.Conn.Read(b)
}

func (c *flConn) Write(b []byte) (int, error) {
	if c.f.Isolated() {
		_ = c.Conn.Close()
		return 0, errIsolated
	}
	return c.Conn.Write(b)
}

func (c *flConn) Close() error {
	c.f.mu.Lock()
	delete(c.f.conns, c)
	c.f.mu.Unlock()
	return c.Conn.Close()
}

// flDialer returns a DialContext for the agent's HTTP client that obeys f.
func flDialer(f *Faults) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if f.Isolated() {
			return nil, errIsolated
		}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil || f == nil {
			return c, err
		}
		return f.track(c), nil
	}
}
