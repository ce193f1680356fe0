package syslog

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigildb/vigil/parse"
)

// got is a delivered line, copied.
type got struct {
	text string
	file string
	off  int64
	msg  Message
}

type collector struct {
	mu    sync.Mutex
	lines []got
	trunc []string
	ch    chan struct{}
	// block, when set, is waited on by the handler before each batch.
	block chan struct{}
	// entered is signalled (non-blocking) when the handler is called.
	entered chan struct{}
}

func newCollector() *collector {
	return &collector{ch: make(chan struct{}, 1), entered: make(chan struct{}, 1)}
}

func (c *collector) handler(ctx context.Context, b Batch) error {
	select {
	case c.entered <- struct{}{}:
	default:
	}
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(b.Lines) != len(b.Messages) {
		panic("lines and messages differ")
	}
	c.mu.Lock()
	for i, l := range b.Lines {
		m := b.Messages[i]
		m.Body = nil
		c.lines = append(c.lines, got{string(l.Text), l.File, l.Offset, m})
	}
	for _, i := range b.Truncated {
		c.trunc = append(c.trunc, string(b.Lines[i].Text))
	}
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
	return nil
}

// wait returns once n lines were delivered, failing the test after 10 s.
func (c *collector) wait(t *testing.T, n int) []got {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		if len(c.lines) >= n {
			out := append([]got(nil), c.lines...)
			c.mu.Unlock()
			return out
		}
		have := len(c.lines)
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %d lines, have %d", n, have)
		}
	}
}

type running struct {
	r    *Receiver
	errc chan error
}

// start creates and runs a receiver; it is closed at test end.
func start(t *testing.T, o Options) *running {
	t.Helper()
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	rr := &running{r: r, errc: make(chan error, 1)}
	go func() { rr.errc <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		r.Close()
		select {
		case err := <-rr.errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
			rr.errc <- err
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after Close")
		}
	})
	return rr
}

func (rr *running) addr(t *testing.T, network string) string {
	t.Helper()
	for _, a := range rr.r.Addrs() {
		if a.Network() == network {
			return a.String()
		}
	}
	t.Fatalf("no %s listener", network)
	return ""
}

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func octet(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%d %s", len(m), m)
	}
	return b.String()
}

func parseLine(g got) parse.Line {
	return parse.Line{Text: []byte(g.text), File: g.file, Offset: g.off, No: g.off + 1}
}
