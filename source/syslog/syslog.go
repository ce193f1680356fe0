// Package syslog receives syslog messages (RFC 5424 and RFC 3164 headers)
// over UDP, TCP and TLS and delivers them, in order per connection, to a
// consumer that may be slow. It is the source for PostgreSQL
// log_destination=syslog and MariaDB server_audit_output_type=syslog.
//
// Transports and framing:
//
//   - udp://host:port — one message per datagram.
//   - tcp://host:port and tls://host:port — RFC 6587 framing, chosen per
//     connection from its first byte: a digit means octet counting
//     ("LEN SP MSG", the RFC 5425 framing, so messages may contain
//     newlines); anything else means newline-delimited (a trailing CR is
//     removed).
//
// Listeners bind loopback addresses only, unless Options.Insecure is set
// (a syslog listener has no authentication: anyone who can reach it can
// write audit records).
//
// Back-pressure, not loss: TCP and TLS connections are read only as fast as
// the Handler accepts batches — while it blocks, reads stop, the kernel
// buffers fill and the sender is pushed back. UDP cannot push back: its
// datagrams go through a bounded queue (Options.UDPQueue), and a datagram
// that finds it full is dropped, counted in Stats().Dropped and logged. Use
// TCP or TLS where loss matters.
//
// Oversize messages (longer than Options.MaxMessageBytes) are truncated,
// not refused: the first MaxMessageBytes bytes are delivered, the message
// is marked Truncated (Batch.Truncated, Message.Truncated) and counted in
// Stats().Truncated, and the rest of its frame is read and discarded so the
// connection stays usable. A malformed octet count closes the connection
// (the stream cannot be resynchronised), counted in Stats().FramingErrors.
//
// Line identity: Line.File is "syslog:HOST/APP" (HOST from the header, or
// the sender's IP address when the header has none), so per-host parsers
// keep separate session state. Line.Offset counts the lines delivered for
// that File since the Receiver started (Line.No = Offset+1). These ids are
// NOT stable across a restart of the receiver: syslog has no
// acknowledgement or replay, so a source restart cannot resume, and
// at-least-once delivery is not possible over UDP at all (nor for messages
// a TCP sender had already written when the receiver stopped). Consumers
// must not deduplicate syslog lines by (File, Offset) across restarts.
//
// PostgreSQL: messages whose APP-NAME (syslog_ident) is one of
// Options.PGIdents are reassembled from their "[seq-part]" chunks (see
// pg.go for the exact form) into the stderr-format lines the pglog parser
// reads, delivered one Line per physical line. Message.Seq carries the
// sequence number; gaps in a process's sequence are counted in
// Stats().SeqGaps, repeats in Stats().Duplicates.
package syslog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigildb/vigil/parse"
)

// Message is one syslog message (or one line of a reassembled PostgreSQL
// record) with its header.
type Message struct {
	Header
	// Peer is the sender's address (ip:port).
	Peer string
	// Transport is "udp", "tcp" or "tls".
	Transport string
	// Received is when the message (its first chunk) was read.
	Received time.Time
	// Truncated: the message exceeded MaxMessageBytes (or the reassembled
	// record PGMaxBytes) and was cut.
	Truncated bool
	// Seq is PostgreSQL's syslog sequence number (0 when none), Parts the
	// number of chunks the record was reassembled from (0 when it came
	// unsplit), RecordLine the index of this line within the record.
	Seq        uint64
	Parts      int
	RecordLine int
}

// Batch is a run of messages. Messages[i] describes Lines[i]; Lines[i].Text
// is the MSG body (Messages[i].Body is the same bytes). Texts are only
// valid during the Handler call; copy what you keep.
type Batch struct {
	Source   string
	Lines    []parse.Line
	Messages []Message
	// Truncated lists the indexes in Lines of truncated messages.
	Truncated []int
}

// Handler receives batches. It may block as long as it needs (TCP senders
// are then pushed back). Returning an error stops the Receiver: Run
// returns the error.
type Handler func(ctx context.Context, b Batch) error

// Options configure a Receiver.
type Options struct {
	// Source names the source in Batches.
	Source string
	// Listen lists the listeners: "udp://127.0.0.1:5514",
	// "tcp://127.0.0.1:5514", "tls://127.0.0.1:6514".
	Listen []string
	// TLSCert and TLSKey are PEM files for tls:// listeners; TLSConfig,
	// when set, is used instead.
	TLSCert, TLSKey string
	TLSConfig       *tls.Config
	// Handler is required.
	Handler Handler
	// MaxMessageBytes bounds one message on the wire (default 64 KiB).
	MaxMessageBytes int
	// BatchLines bounds the lines per Batch (default 1024).
	BatchLines int
	// UDPQueue is how many UDP messages may wait for the Handler before
	// datagrams are dropped (default 4096).
	UDPQueue int
	// Location for RFC 3164 timestamps, which have no zone (default
	// time.Local).
	Location *time.Location
	// Logger for notices (drops, framing errors). Default slog.Default().
	Logger *slog.Logger
	// Insecure allows binding non-loopback addresses.
	Insecure bool

	// PGIdents are the APP-NAMEs (syslog_ident) whose messages are
	// PostgreSQL's and get reassembled. Default "postgres", "postgresql",
	// "postmaster". NoPG disables reassembly.
	PGIdents []string
	NoPG     bool
	// MariaDBIdents are the APP-NAMEs of MariaDB's server_audit plugin
	// (server_audit_syslog_ident, default "mysql-server_auditing"). Their
	// records are the audit file's without its timestamp: the receiver
	// puts the syslog timestamp back in front (UTC), so each line reads
	// exactly as a server_audit file line (format mariadb_audit).
	MariaDBIdents []string
	// PGNoSequenceNumbers: the server runs with syslog_sequence_numbers=off,
	// so "[N]" is a chunk number, not a sequence number.
	PGNoSequenceNumbers bool
	// PGSyslogLimit is the server's PG_SYSLOG_LIMIT (default 900), used to
	// tell chunks cut for length from chunks cut at a newline.
	PGSyslogLimit int
	// PGFlushAfter is how long a record's chunks are awaited once input is
	// idle before the record is delivered as it is (default 1 s). Each
	// record is otherwise delivered when the next one from the same process
	// arrives, since syslog does not mark a record's last chunk.
	PGFlushAfter time.Duration
	// PGMaxBytes bounds a reassembled record (default 8 MiB).
	PGMaxBytes int

	now func() time.Time // tests
}

func (o *Options) defaults() {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 64 << 10
	}
	if o.BatchLines <= 0 {
		o.BatchLines = 1024
	}
	if o.UDPQueue <= 0 {
		o.UDPQueue = 4096
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PGIdents == nil {
		o.PGIdents = []string{"postgres", "postgresql", "postmaster"}
	}
	if len(o.MariaDBIdents) == 0 {
		o.MariaDBIdents = []string{"mysql-server_auditing"}
	}
	if o.PGSyslogLimit <= 0 {
		o.PGSyslogLimit = 900
	}
	if o.PGFlushAfter <= 0 {
		o.PGFlushAfter = time.Second
	}
	if o.PGMaxBytes <= 0 {
		o.PGMaxBytes = 8 << 20
	}
	if o.now == nil {
		o.now = time.Now
	}
}

// Stats are cumulative counters since New.
type Stats struct {
	Received      uint64 // messages read from the network
	Lines         uint64 // lines accepted by the Handler
	Dropped       uint64 // UDP datagrams dropped because the queue was full
	Truncated     uint64 // messages longer than MaxMessageBytes
	ParseErrors   uint64 // messages without a recognisable header (delivered raw)
	FramingErrors uint64 // TCP connections closed on a malformed frame
	SeqGaps       uint64 // PostgreSQL sequence numbers never seen
	Duplicates    uint64 // PostgreSQL sequence numbers seen twice in a row
	PGLostParts   uint64 // PostgreSQL chunks missing at the start of a record
	Abandoned     uint64 // messages read but not delivered when Run was cancelled
	Connections   uint64 // TCP/TLS connections accepted
}

type counters struct {
	Received, Lines, Dropped, Truncated, ParseErrors, FramingErrors,
	SeqGaps, Duplicates, PGLostParts, Abandoned, Connections atomic.Uint64
}

// Receiver listens and delivers. Create with New, run with Run, stop with
// Close (graceful) or by cancelling Run's context (abort).
type Receiver struct {
	o       Options
	tlsConf *tls.Config
	streams []net.Listener
	streamT []string
	packets []net.PacketConn

	in   chan inMsg // TCP/TLS: bounded, senders block (back-pressure)
	udpq chan inMsg // UDP: bounded, full means drop

	closing   chan struct{}
	closeOnce sync.Once
	stopOnce  sync.Once
	abort     chan struct{}
	abortOnce sync.Once

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	stopped bool

	readers sync.WaitGroup
	running atomic.Bool
	runDone chan struct{}

	stats       counters
	lastDropLog atomic.Int64
}

type inMsg struct {
	m Message
}

// New checks the options and binds every listener (so Addrs is known
// before Run). On error nothing stays bound.
func New(opts Options) (*Receiver, error) {
	opts.defaults()
	if opts.Handler == nil {
		return nil, errors.New("syslog: Options.Handler is required")
	}
	if len(opts.Listen) == 0 {
		return nil, errors.New("syslog: no listen address")
	}
	r := &Receiver{
		o:       opts,
		in:      make(chan inMsg, 16),
		udpq:    make(chan inMsg, opts.UDPQueue),
		closing: make(chan struct{}),
		abort:   make(chan struct{}),
		conns:   make(map[net.Conn]struct{}),
		runDone: make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			r.stopIntake()
		}
	}()
	for _, l := range opts.Listen {
		u, err := url.Parse(l)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("syslog: listen address %q: want udp://, tcp:// or tls://host:port", l)
		}
		if err := checkLoopback(u.Host, opts.Insecure); err != nil {
			return nil, fmt.Errorf("syslog: listen %s: %w", l, err)
		}
		switch u.Scheme {
		case "udp":
			pc, err := net.ListenPacket("udp", u.Host)
			if err != nil {
				return nil, fmt.Errorf("syslog: %w", err)
			}
			r.packets = append(r.packets, pc)
		case "tcp", "tls":
			var conf *tls.Config
			if u.Scheme == "tls" {
				if conf, err = r.tlsConfig(); err != nil {
					return nil, err
				}
			}
			ln, err := net.Listen("tcp", u.Host)
			if err != nil {
				return nil, fmt.Errorf("syslog: %w", err)
			}
			if conf != nil {
				ln = tls.NewListener(ln, conf)
			}
			r.streams = append(r.streams, ln)
			r.streamT = append(r.streamT, u.Scheme)
		default:
			return nil, fmt.Errorf("syslog: listen address %q: unknown scheme %q", l, u.Scheme)
		}
	}
	ok = true
	return r, nil
}

func (r *Receiver) tlsConfig() (*tls.Config, error) {
	if r.tlsConf != nil {
		return r.tlsConf, nil
	}
	if r.o.TLSConfig != nil {
		r.tlsConf = r.o.TLSConfig
		return r.tlsConf, nil
	}
	if r.o.TLSCert == "" || r.o.TLSKey == "" {
		return nil, errors.New("syslog: tls:// listener needs TLSCert and TLSKey (or TLSConfig)")
	}
	cert, err := tls.LoadX509KeyPair(r.o.TLSCert, r.o.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	r.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return r.tlsConf, nil
}

// checkLoopback refuses hosts other than loopback IPs and "localhost"
// unless insecure. An empty host (all interfaces) is not loopback.
func checkLoopback(hostport string, insecure bool) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	if insecure || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address (set Insecure to listen on other interfaces; syslog is unauthenticated)", host)
}

// Addrs returns the bound addresses, in the order of Options.Listen
// grouped as UDP first, then TCP/TLS.
func (r *Receiver) Addrs() []net.Addr {
	var a []net.Addr
	for _, pc := range r.packets {
		a = append(a, pc.LocalAddr())
	}
	for _, ln := range r.streams {
		a = append(a, ln.Addr())
	}
	return a
}

// Stats returns a snapshot of the counters.
func (r *Receiver) Stats() Stats {
	c := &r.stats
	return Stats{
		Received: c.Received.Load(), Lines: c.Lines.Load(), Dropped: c.Dropped.Load(),
		Truncated: c.Truncated.Load(), ParseErrors: c.ParseErrors.Load(),
		FramingErrors: c.FramingErrors.Load(), SeqGaps: c.SeqGaps.Load(),
		Duplicates: c.Duplicates.Load(), PGLostParts: c.PGLostParts.Load(),
		Abandoned: c.Abandoned.Load(), Connections: c.Connections.Load(),
	}
}

// Close stops listening, delivers what was already read (waiting for the
// Handler to take it) and returns once Run has returned. To abort without
// waiting for the Handler, cancel Run's context instead.
func (r *Receiver) Close() error {
	r.closeOnce.Do(func() { close(r.closing) })
	r.stopIntake()
	if r.running.Load() {
		<-r.runDone
	}
	return nil
}

// stopIntake closes listeners and connections: readers then see errors
// and end.
func (r *Receiver) stopIntake() {
	r.stopOnce.Do(func() {
		for _, ln := range r.streams {
			ln.Close()
		}
		for _, pc := range r.packets {
			pc.Close()
		}
		r.mu.Lock()
		r.stopped = true
		for c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
	})
}

// Run receives and delivers until Close (returns nil), ctx is done
// (returns ctx.Err(); messages read but not delivered are counted in
// Stats().Abandoned) or the Handler fails (returns its error). Run may be
// called once.
func (r *Receiver) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("syslog: Run called twice")
	}
	defer close(r.runDone)
	select {
	case <-r.closing:
		return nil
	default:
	}
	for _, pc := range r.packets {
		r.readers.Add(1)
		go r.readUDP(pc)
	}
	for i, ln := range r.streams {
		r.readers.Add(1)
		go r.accept(ln, r.streamT[i])
	}
	readersDone := make(chan struct{})
	go func() { r.readers.Wait(); close(readersDone) }()

	p := newPump(r)
	err := p.run(ctx, readersDone)
	r.stopIntake()
	r.abortOnce.Do(func() { close(r.abort) })
	<-readersDone
	if err != nil {
		n := uint64(len(r.in) + len(r.udpq) + len(p.lines) + p.npend)
		if n > 0 {
			r.stats.Abandoned.Add(n)
			r.o.Logger.Warn("syslog: stopped with messages not delivered", "source", r.o.Source, "messages", n, "err", err)
		}
	}
	return err
}

// send hands a stream message to the pump, blocking (back-pressure).
func (r *Receiver) send(m inMsg) bool {
	select {
	case r.in <- m:
		return true
	case <-r.abort:
		return false
	}
}

func (r *Receiver) readUDP(pc net.PacketConn) {
	defer r.readers.Done()
	max := r.o.MaxMessageBytes
	buf := make([]byte, max+1)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.o.Logger.Warn("syslog: udp read", "err", err)
			continue
		}
		trunc := n > max
		if trunc {
			n = max
		}
		m := r.message(buf[:n], addr, "udp", trunc)
		select {
		case r.udpq <- inMsg{m}:
		default:
			d := r.stats.Dropped.Add(1)
			now := time.Now().UnixNano()
			if last := r.lastDropLog.Load(); now-last >= int64(time.Second) && r.lastDropLog.CompareAndSwap(last, now) {
				r.o.Logger.Warn("syslog: UDP queue full, datagrams dropped (the Handler is slower than the senders; use TCP for back-pressure)",
					"source", r.o.Source, "dropped_total", d, "from", addr.String())
			}
		}
	}
}

func (r *Receiver) accept(ln net.Listener, transport string) {
	defer r.readers.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-r.abort:
				return
			case <-r.closing:
				return
			default:
			}
			r.o.Logger.Warn("syslog: accept", "err", err)
			time.Sleep(50 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			c.Close()
			return
		}
		r.conns[c] = struct{}{}
		r.readers.Add(1)
		r.mu.Unlock()
		r.stats.Connections.Add(1)
		go r.readStream(c, transport)
	}
}

func (r *Receiver) readStream(c net.Conn, transport string) {
	defer r.readers.Done()
	defer func() {
		r.mu.Lock()
		delete(r.conns, c)
		r.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReaderSize(c, 64<<10)
	first, err := br.Peek(1)
	if err != nil {
		r.streamErr(c, err)
		return
	}
	octet := first[0] >= '0' && first[0] <= '9'
	for {
		var msg []byte
		var trunc bool
		if octet {
			msg, trunc, err = r.readOctet(br)
		} else {
			msg, trunc, err = r.readLine(br)
		}
		if msg != nil {
			if !r.send(inMsg{r.message(msg, c.RemoteAddr(), transport, trunc)}) {
				return
			}
		}
		if err != nil {
			r.streamErr(c, err)
			return
		}
	}
}

func (r *Receiver) streamErr(c net.Conn, err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	var fe *framingError
	if errors.As(err, &fe) {
		r.stats.FramingErrors.Add(1)
	}
	select {
	case <-r.closing:
		return
	case <-r.abort:
		return
	default:
	}
	r.o.Logger.Warn("syslog: connection closed", "source", r.o.Source, "peer", c.RemoteAddr().String(), "err", err)
}

type framingError struct{ msg string }

func (e *framingError) Error() string { return "syslog framing: " + e.msg }

// readOctet reads "LEN SP MSG". The message is a fresh slice.
func (r *Receiver) readOctet(br *bufio.Reader) ([]byte, bool, error) {
	n := 0
	digits := 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			if digits > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
		if c == ' ' && digits > 0 {
			break
		}
		// Tolerate newlines between frames (some senders add them).
		if (c == '\n' || c == '\r') && digits == 0 {
			continue
		}
		if c < '0' || c > '9' || digits >= 10 || (digits == 0 && c == '0') {
			return nil, false, &framingError{fmt.Sprintf("bad octet count byte %q", c)}
		}
		n = n*10 + int(c-'0')
		digits++
	}
	max := r.o.MaxMessageBytes
	keep := min(n, max)
	msg := make([]byte, keep)
	if _, err := io.ReadFull(br, msg); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, err
	}
	trunc := n > max
	if trunc {
		if _, err := br.Discard(n - max); err != nil {
			return msg, true, err
		}
	}
	return msg, trunc, nil
}

// readLine reads one newline-terminated message (the final one may lack
// the newline). Lines longer than MaxMessageBytes are cut and the rest of
// the line discarded.
func (r *Receiver) readLine(br *bufio.Reader) ([]byte, bool, error) {
	max := r.o.MaxMessageBytes
	for {
		var msg []byte
		trunc := false
		for {
			chunk, err := br.ReadSlice('\n')
			if err == nil {
				chunk = chunk[:len(chunk)-1]
			}
			if room := max - len(msg); len(chunk) > room {
				chunk, trunc = chunk[:room], true
			}
			msg = append(msg, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				if len(msg) > 0 {
					return trimCR(msg), trunc, err
				}
				return nil, false, err
			}
			break
		}
		if msg = trimCR(msg); len(msg) > 0 {
			return msg, trunc, nil
		}
	}
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// message parses raw (copied: raw may be a reused buffer) into a Message.
func (r *Receiver) message(raw []byte, addr net.Addr, transport string, trunc bool) Message {
	r.stats.Received.Add(1)
	if trunc {
		r.stats.Truncated.Add(1)
	}
	// A trailing newline inside a datagram or an octet-counted frame is
	// framing habit (many senders add one), not content.
	raw = bytes.TrimSuffix(raw, []byte("\n"))
	raw = trimCR(raw)
	b := append([]byte(nil), raw...)
	now := r.o.now()
	h, err := ParseHeader(b, now, r.o.Location)
	if err != nil {
		r.stats.ParseErrors.Add(1)
	}
	peer := ""
	if addr != nil {
		peer = addr.String()
	}
	if h.Hostname == "" {
		if host, _, err := net.SplitHostPort(peer); err == nil {
			h.Hostname = host
		} else {
			h.Hostname = peer
		}
	}
	return Message{Header: h, Peer: peer, Transport: transport, Received: now, Truncated: trunc}
}

// pump is the single goroutine that reassembles, batches and calls the
// Handler.
type pump struct {
	r       *Receiver
	o       *Options
	stats   *counters
	now     func() time.Time
	pg      map[pgKey]*pgState
	npend   int
	pgApps  map[string]bool
	offsets map[string]int64
	blocked time.Duration // total time spent in the Handler

	lines []parse.Line
	msgs  []Message
	trunc []int
	// mariaApps: Options.MariaDBIdents.
	mariaApps map[string]bool
}

func newPump(r *Receiver) *pump {
	p := &pump{r: r, o: &r.o, stats: &r.stats, now: r.o.now,
		pg: map[pgKey]*pgState{}, pgApps: map[string]bool{}, offsets: map[string]int64{}}
	for _, a := range r.o.PGIdents {
		p.pgApps[a] = true
	}
	p.mariaApps = map[string]bool{}
	for _, a := range r.o.MariaDBIdents {
		p.mariaApps[a] = true
	}
	return p
}

func (p *pump) process(m Message) {
	if !p.o.NoPG && p.pgApps[m.AppName] {
		p.pgProcess(m)
		return
	}
	if p.mariaApps[m.AppName] {
		p.emit(m, mariaDBLine(m))
		return
	}
	p.emit(m, m.Body)
}

// mariaDBLine turns a server_audit syslog body ("[info ]serverhost,user,
// host,connid,queryid,operation,db,object,retcode") into the audit file's
// line: "YYYYMMDD HH:MM:SS,serverhost,...".
func mariaDBLine(m Message) []byte {
	body := bytes.TrimSpace(m.Body)
	if i := bytes.IndexByte(body, ','); i > 0 {
		if sp := bytes.LastIndexByte(body[:i], ' '); sp >= 0 {
			body = body[sp+1:] // server_audit_syslog_info
		}
	}
	ts := m.Timestamp
	if ts.IsZero() {
		ts = m.Received
	}
	out := make([]byte, 0, 18+len(body))
	out = ts.UTC().AppendFormat(out, "20060102 15:04:05")
	out = append(out, ',')
	return append(out, body...)
}

// emitRecord emits a PostgreSQL record one physical line at a time.
func (p *pump) emitRecord(m Message, text []byte) {
	for i := 0; ; i++ {
		j := bytesIndexNL(text)
		line := text
		if j >= 0 {
			line = text[:j]
		}
		m.RecordLine = i
		p.emit(m, line)
		if j < 0 {
			return
		}
		text = text[j+1:]
	}
}

func bytesIndexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

func (p *pump) emit(m Message, text []byte) {
	m.Body = text
	file := "syslog:" + m.Hostname + "/" + m.AppName
	off := p.offsets[file]
	p.offsets[file] = off + 1
	if m.Truncated {
		p.trunc = append(p.trunc, len(p.lines))
	}
	p.lines = append(p.lines, parse.Line{Text: text, File: file, Offset: off, No: off + 1})
	p.msgs = append(p.msgs, m)
}

func (p *pump) deliver(ctx context.Context) error {
	for len(p.lines) > 0 {
		n := min(len(p.lines), p.o.BatchLines)
		b := Batch{Source: p.o.Source, Lines: p.lines[:n:n], Messages: p.msgs[:n:n]}
		var rest []int
		for _, t := range p.trunc {
			if t < n {
				b.Truncated = append(b.Truncated, t)
			} else {
				rest = append(rest, t-n)
			}
		}
		t0 := p.now()
		err := p.o.Handler(ctx, b)
		p.blocked += p.now().Sub(t0)
		if err != nil {
			return err
		}
		p.stats.Lines.Add(uint64(n))
		p.lines = p.lines[n:]
		p.msgs = p.msgs[n:]
		p.trunc = rest
	}
	p.lines, p.msgs, p.trunc = nil, nil, nil
	return nil
}

func (p *pump) run(ctx context.Context, readersDone <-chan struct{}) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	closing := p.r.closing
	lastSweep := p.now()
	for {
		if len(p.lines) >= p.o.BatchLines {
			// Under sustained input the idle branch below is never
			// reached: records whose chunks stopped coming go out here.
			if p.npend > 0 {
				p.pgFlushDue(false)
			}
			if err := p.deliver(ctx); err != nil {
				return err
			}
		}
		// Take what is there without blocking.
		select {
		case m := <-p.r.in:
			p.process(m.m)
			continue
		case m := <-p.r.udpq:
			p.process(m.m)
			continue
		default:
		}
		// Input idle: flush due records, deliver, then wait.
		if p.npend > 0 || p.now().Sub(lastSweep) > time.Minute {
			p.pgFlushDue(false)
			lastSweep = p.now()
		}
		if len(p.lines) > 0 {
			if err := p.deliver(ctx); err != nil {
				return err
			}
			continue
		}
		var timerC <-chan time.Time
		if d, ok := p.pgNextDeadline(); ok {
			timer.Reset(max(d.Sub(p.clock()), time.Millisecond))
			timerC = timer.C
		}
		select {
		case m := <-p.r.in:
			p.process(m.m)
		case m := <-p.r.udpq:
			p.process(m.m)
		case <-timerC:
		case <-closing:
			p.r.stopIntake()
			closing = nil // keep pumping until the readers are gone
		case <-readersDone:
			// Only after Close (or all listeners failed): drain and finish.
			for {
				select {
				case m := <-p.r.in:
					p.process(m.m)
					continue
				case m := <-p.r.udpq:
					p.process(m.m)
					continue
				default:
				}
				break
			}
			p.pgFlushDue(true)
			return p.deliver(ctx)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
