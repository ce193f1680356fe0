package syslog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestParseHeader(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in                    string
		f                     Format
		host, app, pid, msgid string
		fac, sev              int
		ts                    string
		sd, body              string
		wantErr               bool
	}{
		{in: `<165>1 2026-11-25T09:42:20.804Z db1 postgres 12345 ID47 [exampleSDID@32473 iut="3" eventSource="App\"li]cation"] LOG:  hi`,
			f: FormatRFC5424, host: "db1", app: "postgres", pid: "12345", msgid: "ID47", fac: 20, sev: 5,
			ts: "2026-11-25T09:42:20.804Z", sd: `[exampleSDID@32473 iut="3" eventSource="App\"li]cation"]`, body: "LOG:  hi"},
		{in: "<13>1 - - - - - -", f: FormatRFC5424, fac: 1, sev: 5, body: ""},
		{in: "<13>1 2026-11-25T09:42:20+01:00 h a p m - \xEF\xBB\xBFbom body", f: FormatRFC5424, host: "h", app: "a", pid: "p", msgid: "m",
			fac: 1, sev: 5, ts: "2026-11-25T08:42:20Z", body: "bom body"},
		{in: "<134>Nov 25 09:42:20 dbhost postgres[12345]: [3-1] LOG:  connection received: host=127.0.0.1 port=5000",
			f: FormatRFC3164, host: "dbhost", app: "postgres", pid: "12345", fac: 16, sev: 6, ts: "2026-11-25T09:42:20Z",
			body: "[3-1] LOG:  connection received: host=127.0.0.1 port=5000"},
		{in: "<134>Nov  5 09:42:20 postgres[7]: [1-1] LOG:  x", f: FormatRFC3164, app: "postgres", pid: "7",
			fac: 16, sev: 6, ts: "2026-11-05T09:42:20Z", body: "[1-1] LOG:  x"},
		{in: "<14>Dec 31 23:59:59 vm mysql-server_auditing:  vm,app,127.0.0.1,3,0,CONNECT,shop,,0",
			f: FormatRFC3164, host: "vm", app: "mysql-server_auditing", fac: 1, sev: 6, ts: "2025-12-31T23:59:59Z",
			body: " vm,app,127.0.0.1,3,0,CONNECT,shop,,0"},
		{in: "<14>2026-11-25T09:42:20.5+00:00 vm app[1]: m", f: FormatRFC3164, host: "vm", app: "app", pid: "1",
			fac: 1, sev: 6, ts: "2026-11-25T09:42:20.5Z", body: "m"},
		{in: "<14>Nov 25 09:42:20 vm just some words", f: FormatRFC3164, host: "vm", fac: 1, sev: 6,
			ts: "2026-11-25T09:42:20Z", body: "just some words"},
		{in: "<14>no header at all", f: FormatUnknown, fac: 1, sev: 6, body: "no header at all"},
		{in: "plain text", f: FormatUnknown, fac: 1, sev: 5, body: "plain text", wantErr: true},
		{in: "<999>x", f: FormatUnknown, fac: 1, sev: 5, body: "<999>x", wantErr: true},
	}
	for _, c := range cases {
		h, err := ParseHeader([]byte(c.in), now, time.UTC)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: err %v", c.in, err)
		}
		var ts string
		if !h.Timestamp.IsZero() {
			ts = h.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		if h.Format != c.f || h.Hostname != c.host || h.AppName != c.app || h.ProcID != c.pid || h.MsgID != c.msgid ||
			h.Facility != c.fac || h.Severity != c.sev || ts != c.ts || h.StructuredData != c.sd || string(h.Body) != c.body {
			t.Errorf("%q:\n got %v host=%q app=%q pid=%q msgid=%q fac=%d sev=%d ts=%q sd=%q body=%q", c.in,
				h.Format, h.Hostname, h.AppName, h.ProcID, h.MsgID, h.Facility, h.Severity, ts, h.StructuredData, h.Body)
		}
	}
}

func TestUDP5424(t *testing.T) {
	c := newCollector()
	rr := start(t, Options{Source: "s", Listen: []string{"udp://127.0.0.1:0"}, Handler: c.handler})
	conn := dial(t, "udp", rr.addr(t, "udp"))
	write(t, conn, `<190>1 2026-11-25T09:42:20.804Z db1 mariadb 77 - - vm,app,127.0.0.1,3,0,CONNECT,shop,,0`)
	write(t, conn, "<190>1 2026-11-25T09:42:21Z db1 mariadb 77 - - second\r\n")
	g := c.wait(t, 2)
	if g[0].text != "vm,app,127.0.0.1,3,0,CONNECT,shop,,0" || g[1].text != "second" {
		t.Fatalf("texts %q %q", g[0].text, g[1].text)
	}
	m := g[0].msg
	if g[0].file != "syslog:db1/mariadb" || g[0].off != 0 || g[1].off != 1 || m.Format != FormatRFC5424 ||
		m.Facility != 23 || m.Severity != 6 || m.ProcID != "77" || m.Transport != "udp" ||
		!m.Timestamp.Equal(time.Date(2026, 11, 25, 9, 42, 20, 804e6, time.UTC)) {
		t.Fatalf("got %+v", g[0])
	}
}

func TestTCP3164NewlineFramed(t *testing.T) {
	c := newCollector()
	rr := start(t, Options{Listen: []string{"tcp://127.0.0.1:0"}, Handler: c.handler, NoPG: true, Location: time.UTC})
	conn := dial(t, "tcp", rr.addr(t, "tcp"))
	// MariaDB's server_audit records get the syslog time back in front.
	write(t, conn, "<14>Nov 25 09:44:16 vm mysql-server_auditing: vm,app,127.0.0.1,3,0,CONNECT,shop,,0\r\n"+
		"\n<14>Nov 25 09:44:17 vm mysql-server_auditing: vm,app,127.0.0.1,3,2,QUERY,shop,'SELECT 1',0\n"+
		"<14>Nov 25 09:44:18 other postgres[9]: last without newline")
	conn.(*net.TCPConn).CloseWrite()
	g := c.wait(t, 3)
	if g[0].text != "20261125 09:44:16,vm,app,127.0.0.1,3,0,CONNECT,shop,,0" || g[1].text != "20261125 09:44:17,vm,app,127.0.0.1,3,2,QUERY,shop,'SELECT 1',0" ||
		g[2].text != "last without newline" {
		t.Fatalf("got %+v", g)
	}
	if g[0].file != "syslog:vm/mysql-server_auditing" || g[1].off != 1 || g[2].file != "syslog:other/postgres" || g[2].off != 0 {
		t.Fatalf("files/offsets %+v", g)
	}
	if g[0].msg.Format != FormatRFC3164 || g[0].msg.Transport != "tcp" {
		t.Fatalf("msg %+v", g[0].msg)
	}
}

func TestTCPOctetCounted(t *testing.T) {
	c := newCollector()
	rr := start(t, Options{Listen: []string{"tcp://127.0.0.1:0"}, Handler: c.handler, NoPG: true})
	conn := dial(t, "tcp", rr.addr(t, "tcp"))
	m1 := "<13>1 2026-11-25T09:00:00Z h app - - - line one\nline two\n\tline three"
	m2 := "<13>1 2026-11-25T09:00:01Z h app - - - 12 34"
	// Split the stream at awkward places.
	s := octet(m1, m2)
	for i := 0; i < len(s); i += 7 {
		write(t, conn, s[i:min(i+7, len(s))])
	}
	g := c.wait(t, 2)
	if g[0].text != "line one\nline two\n\tline three" || g[1].text != "12 34" {
		t.Fatalf("got %q %q", g[0].text, g[1].text)
	}
}

func TestOctetFramingError(t *testing.T) {
	c := newCollector()
	rr := start(t, Options{Listen: []string{"tcp://127.0.0.1:0"}, Handler: c.handler})
	conn := dial(t, "tcp", rr.addr(t, "tcp"))
	write(t, conn, octet("<13>1 - h a - - - ok")+"12x garbage")
	c.wait(t, 1)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection not closed after a framing error")
	}
	if rr.r.Stats().FramingErrors != 1 {
		t.Fatalf("stats %+v", rr.r.Stats())
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return
}

func TestTLS(t *testing.T) {
	cf, kf, pool := selfSigned(t)
	c := newCollector()
	rr := start(t, Options{Listen: []string{"tls://127.0.0.1:0"}, TLSCert: cf, TLSKey: kf, Handler: c.handler, NoPG: true})
	conn, err := tls.Dial("tcp", rr.addr(t, "tcp"), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	write(t, conn, octet("<13>1 - h app - - - over tls\nwith newline", "<13>1 - h app - - - second"))
	g := c.wait(t, 2)
	if g[0].text != "over tls\nwith newline" || g[1].text != "second" || g[0].msg.Transport != "tls" {
		t.Fatalf("got %+v", g)
	}
	if _, err := New(Options{Listen: []string{"tls://127.0.0.1:0"}, Handler: c.handler}); err == nil {
		t.Fatal("tls without a certificate accepted")
	}
}

func TestOversizeTruncated(t *testing.T) {
	c := newCollector()
	rr := start(t, Options{Listen: []string{"tcp://127.0.0.1:0", "udp://127.0.0.1:0"}, Handler: c.handler,
		MaxMessageBytes: 100, NoPG: true})
	long := "<13>1 - h app - - - " + strings.Repeat("x", 300)
	want := long[len("<13>1 - h app - - - "):100]
	// Octet counted, then a normal message on the same connection.
	c1 := dial(t, "tcp", rr.addr(t, "tcp"))
	write(t, c1, octet(long, "<13>1 - h app - - - after"))
	g := c.wait(t, 2)
	if g[0].text != want || !g[0].msg.Truncated || g[1].text != "after" || g[1].msg.Truncated {
		t.Fatalf("octet: %+v", g)
	}
	// Newline framed.
	c2 := dial(t, "tcp", rr.addr(t, "tcp"))
	write(t, c2, long+"\n<13>1 - h app - - - after2\n")
	g = c.wait(t, 4)
	if g[2].text != want || !g[2].msg.Truncated || g[3].text != "after2" {
		t.Fatalf("newline: %+v", g[2:])
	}
	// UDP.
	c3 := dial(t, "udp", rr.addr(t, "udp"))
	write(t, c3, long)
	g = c.wait(t, 5)
	if g[4].text != want || !g[4].msg.Truncated {
		t.Fatalf("udp: %+v", g[4])
	}
	c.mu.Lock()
	nt := len(c.trunc)
	c.mu.Unlock()
	if st := rr.r.Stats(); st.Truncated != 3 || nt != 3 {
		t.Fatalf("stats %+v, batch.Truncated %d", st, nt)
	}
}

func TestOptionsChecked(t *testing.T) {
	if _, err := New(Options{Listen: []string{"udp://127.0.0.1:0"}}); err == nil {
		t.Fatal("no Handler accepted")
	}
	if _, err := New(Options{Handler: newCollector().handler}); err == nil {
		t.Fatal("no Listen accepted")
	}
}

func TestNonLoopbackRefused(t *testing.T) {
	for _, l := range []string{"udp://0.0.0.0:0", "tcp://:0", "tcp://192.0.2.1:0", "tls://[::]:0", "tcp://example.com:0"} {
		_, err := New(Options{Listen: []string{"tcp://127.0.0.1:0", l}, Handler: newCollector().handler})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: err %v", l, err)
		}
	}
	for _, l := range []string{"http://127.0.0.1:0", "127.0.0.1:0", "udp://127.0.0.1"} {
		if _, err := New(Options{Listen: []string{l}, Handler: newCollector().handler}); err == nil {
			t.Errorf("%s accepted", l)
		}
	}
	// Loopback names are accepted. [::1] may not be bindable on a host
	// without IPv6, but it must never be refused as non-loopback.
	r, err := New(Options{Listen: []string{"udp://localhost:0"}, Handler: newCollector().handler})
	if err != nil {
		t.Fatalf("localhost refused: %v", err)
	}
	r.Close()
	if r, err := New(Options{Listen: []string{"tcp://[::1]:0"}, Handler: newCollector().handler}); err == nil {
		r.Close()
	} else if strings.Contains(err.Error(), "loopback") {
		t.Errorf("[::1] refused as non-loopback: %v", err)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	c := newCollector()
	r, err := New(Options{Listen: []string{"tcp://127.0.0.1:0", "udp://127.0.0.1:0"}, Handler: c.handler, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background()) }()
	var tcpAddr, udpAddr string
	for _, a := range r.Addrs() {
		if a.Network() == "tcp" {
			tcpAddr = a.String()
		} else {
			udpAddr = a.String()
		}
	}
	conn := dial(t, "tcp", tcpAddr)
	write(t, conn, "<13>Nov 25 09:00:00 h app: one\n")
	c.wait(t, 1)
	// A PostgreSQL chunk left pending is delivered by Close.
	write(t, conn, "<13>Nov 25 09:00:00 h postgres[1]: [1-1] LOG:  pending\n")
	waitReceived(t, r, 2) // Close delivers what was read; unread socket data is the sender's
	r.Close()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	g := c.wait(t, 2)
	if g[1].text != "LOG:  pending" {
		t.Fatalf("pending record not flushed: %+v", g)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open: %v", err)
	}
	if c, err := net.Dial("tcp", tcpAddr); err == nil {
		c.Close()
		t.Fatal("still accepting")
	}
	pc, err := net.ListenPacket("udp", udpAddr) // the port is free again
	if err != nil {
		t.Fatalf("udp socket not closed: %v", err)
	}
	pc.Close()
	if err := r.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
}

func TestCancelAbandons(t *testing.T) {
	c := newCollector()
	c.block = make(chan struct{})
	r, err := New(Options{Listen: []string{"tcp://127.0.0.1:0"}, Handler: c.handler, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	conn := dial(t, "tcp", r.Addrs()[0].String())
	write(t, conn, "<13>Nov 25 09:00:00 h app: one\n")
	<-c.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if st := r.Stats(); st.Abandoned != 1 {
		t.Fatalf("stats %+v", st)
	}
	r.Close()
}

func TestHandlerErrorStops(t *testing.T) {
	boom := errors.New("boom")
	r, err := New(Options{Listen: []string{"udp://127.0.0.1:0"}, Logger: discardLogger(),
		Handler: func(context.Context, Batch) error { return boom }})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background()) }()
	conn := dial(t, "udp", r.Addrs()[0].String())
	write(t, conn, "<13>1 - h a - - - x")
	select {
	case err := <-errc:
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	r.Close()
}

// A blocked Handler stalls a TCP sender (its writes stop completing), and
// once released every message arrives, in order.
func TestBackPressureTCP(t *testing.T) {
	const n = 10000
	c := newCollector()
	c.block = make(chan struct{})
	rr := start(t, Options{Listen: []string{"tcp://127.0.0.1:0"}, Handler: c.handler, NoPG: true, BatchLines: 256})
	conn := dial(t, "tcp", rr.addr(t, "tcp"))
	conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	pad := strings.Repeat("p", 2000)
	var all strings.Builder
	for i := range n {
		fmt.Fprintf(&all, "<13>Nov 25 09:00:00 h app: %05d %s\n", i, pad)
	}
	data := []byte(all.String()) // ~20 MB: more than the kernel buffers hold
	first := strings.IndexByte(all.String(), '\n') + 1
	write(t, conn, string(data[:first]))
	<-c.entered // the Handler holds the first batch
	// With the Handler blocked the rest cannot be written in full.
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	w, err := conn.Write(data[first:])
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("sender was not stalled: wrote %d of %d, err %v", w, len(data)-first, err)
	}
	if st := rr.r.Stats(); st.Lines != 0 || st.Received > n/2 {
		t.Fatalf("stats while blocked: %+v", st)
	}
	close(c.block)
	conn.SetWriteDeadline(time.Time{})
	write(t, conn, string(data[first+w:]))
	g := c.wait(t, n)
	for i, l := range g {
		if want := fmt.Sprintf("%05d %s", i, pad); l.text != want || l.off != int64(i) {
			t.Fatalf("line %d: %.20q off %d", i, l.text, l.off)
		}
	}
	if len(g) != n {
		t.Fatalf("%d lines", len(g))
	}
}

// UDP cannot push back: with the Handler blocked and a small queue,
// datagrams are dropped and counted, never silently.
func TestUDPDropsCounted(t *testing.T) {
	c := newCollector()
	c.block = make(chan struct{})
	logs := &syncWriter{}
	lg := slog.New(slog.NewTextHandler(logs, nil))
	rr := start(t, Options{Listen: []string{"udp://127.0.0.1:0"}, Handler: c.handler, UDPQueue: 4, Logger: lg})
	conn := dial(t, "udp", rr.addr(t, "udp"))
	write(t, conn, "<13>1 - h a - - - first")
	<-c.entered
	const n = 50
	for i := range n {
		write(t, conn, fmt.Sprintf("<13>1 - h a - - - %d", i))
	}
	waitReceived(t, rr.r, n+1)
	close(c.block)
	st := rr.r.Stats()
	if st.Dropped == 0 {
		t.Fatalf("no drops: %+v", st)
	}
	g := c.wait(t, int(st.Received-st.Dropped))
	if uint64(len(g))+st.Dropped != n+1 {
		t.Fatalf("delivered %d + dropped %d != %d", len(g), st.Dropped, n+1)
	}
	if !strings.Contains(logs.String(), "datagrams dropped") {
		t.Fatalf("drops not logged: %q", logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitReceived polls the Received counter (there is no event to wait on
// for messages that are read but not delivered), with a deadline.
func waitReceived(t *testing.T, r *Receiver, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Received < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d, want %d", r.Stats().Received, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
