// Package redistest starts real redis-server processes for tests that compare
// Shardis with Redis.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// redisStartTimeout bounds how long a redis-server may take to answer PING.
const redisStartTimeout = 10 * time.Second

// redisLog collects a redis-server's output so a failed start can show it.
type redisLog struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *redisLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *redisLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Start starts a real, empty, non-persistent redis-server on a free
// loopback port with its own temporary directory, waits until it answers
// PING, and stops it when the test ends. It returns the server's host:port.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH (%v): run `make deps` to install it", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		addr, retry, err := redisTryStart(t, bin)
		if err == nil {
			return addr
		}
		lastErr = err
		if !retry {
			break
		}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return ""
}

// redisFreePort asks the kernel for a free loopback port. Another process
// may take it before redis-server binds it; the caller retries then.
func redisFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// redisTryStart makes one attempt; retry reports whether a failure was a
// port clash worth another attempt.
func redisTryStart(t testing.TB, bin string) (addr string, retry bool, err error) {
	t.Helper()
	port, err := redisFreePort()
	if err != nil {
		return "", false, err
	}
	dir := t.TempDir()
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", dir,
		"--logfile", "",
	)
	cmd.Dir = dir
	var log redisLog
	cmd.Stdout = &log
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		return "", false, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(redisStartTimeout)
	for {
		select {
		case <-exited:
			out := log.String()
			clash := strings.Contains(out, "Address already in use")
			return "", clash, fmt.Errorf("redis-server exited before answering PING on %s:\n%s", addr, out)
		default:
		}
		if redisPing(addr) == nil {
			t.Cleanup(stop)
			return addr, false, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", false, fmt.Errorf("redis-server on %s did not answer PING within %v:\n%s", addr, redisStartTimeout, log.String())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for a fixed state
	}
}

// redisPing sends one inline PING and expects +PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
