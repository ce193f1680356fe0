// Package kafka consumes Kafka topics — and Azure Event Hubs through their
// Kafka endpoint — as a stream source: every record becomes one parse.Line
// handed to a feed function (the daemon's LiveRunner.Feed).
//
// Records: one Line per record. Line.Text is the record value, whole (an
// Azure Monitor `{"records":[...]}` document or an NDJSON line is not
// split here; the parsers read it); Line.File is "kafka:TOPIC/PARTITION",
// Line.Offset the record's offset and Line.No = Offset+1. Lines of one
// partition are delivered in offset order. Each topic/partition is its own
// File, so each gets its own parser (and format detection): send each
// record type (Azure diagnostic category) to its own topic (event hub).
//
// Delivery contract — at least once, never a gap:
//
//   - The source joins a consumer group (Options.Group) with auto-commit
//     disabled. A polled batch is handed to feed; only after feed returns nil
//     are the batch's offsets committed. A record whose feed has not
//     returned nil is never committed.
//   - When feed fails, the same batch is retried (exponential backoff with
//     jitter, Options.RetryMin..RetryMax) until it succeeds or the context
//     ends. Records are never skipped.
//   - Rebalances are held while a batch is being fed
//     (kgo.BlockRebalanceOnPoll), so a partition is only revoked between
//     batches; on revocation, fed offsets whose commit had failed are
//     committed before the partition goes. On shutdown the fed offsets are
//     committed and the group is left cleanly.
//   - A record fed but not committed (a crash between feed and commit, a
//     failed commit, a member kicked out during a long feed retry) is
//     delivered again, to this member after a restart or to another one. Its
//     Line.File and Line.Offset are the same, so the store drops the events
//     as duplicates (event ids derive from them).
//   - A feed that keeps failing longer than the group's rebalance timeout
//     (60 s) while another member joins gets this member removed from the
//     group: its partitions move on and its batch is re-delivered there.
//
// Azure Event Hubs: set Options.ConnectionString to the namespace's or hub's
// connection string. The broker becomes NAMESPACE.servicebus.windows.net:9093,
// TLS is on, and SASL PLAIN uses the user "$ConnectionString" and the whole
// connection string as the password; EntityPath (when present) is the topic
// unless Options.Topics is set. The secret is masked in every error, log and
// String().
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/vigildb/vigil/parse"
)

// Options configure a Source.
type Options struct {
	// Name names the source in logs and metrics (default "kafka").
	Name string
	// Brokers are the seed brokers, "host:port". Derived from
	// ConnectionString when empty.
	Brokers []string
	// Topics to consume (one or more). Default: the EntityPath of
	// ConnectionString.
	Topics []string
	// Group is the consumer group id (default "vigil").
	Group string
	// ClientID is the Kafka client id (default "vigil").
	ClientID string
	// TLS configures TLS to the brokers (forced on with ConnectionString).
	TLS TLS
	// SASL PLAIN credentials; used when User is set.
	SASL SASL
	// ConnectionString is an Azure Event Hubs connection string (see the
	// package doc). Exclusive with SASL.
	ConnectionString string
	// Committable, when set, bounds what is committed per partition: the
	// offset (of Line.File "kafka:TOPIC/PARTITION") up to which the
	// consumer of the lines has really finished with them — stored, and
	// no event still held back waiting for a later record (the live
	// pipeline's LiveRunner.Committable). Without it a batch is committed
	// once feed returns nil. Records beyond it stay uncommitted until a
	// later batch moves it on; after a crash they are delivered again.
	Committable func(file string) (offset int64, ok bool)
	// StartFrom is where a partition without a committed offset starts:
	// "earliest" (default) or "latest".
	StartFrom string
	// MaxPollRecords bounds the records of one batch handed to feed
	// (default 500).
	MaxPollRecords int
	// RetryMin and RetryMax bound the backoff between attempts to feed a
	// batch that failed (defaults 500 ms and 30 s); each wait is jittered.
	RetryMin, RetryMax time.Duration
	// ShutdownTimeout bounds the final commit and group leave (default 10 s).
	ShutdownTimeout time.Duration
	// Logger gets starts, stops, feed and commit failures. Default
	// slog.Default().
	Logger *slog.Logger
	// Metrics hooks (optional).
	Metrics Metrics

	// extra kgo options, for tests (faster heartbeats and fetch waits).
	extra []kgo.Opt
}

// TLS configures TLS to the brokers.
type TLS struct {
	Enable bool
	// CAFile is a PEM file of CA certificates to trust instead of the
	// system pool.
	CAFile string
	// CertFile and KeyFile: a client certificate (mutual TLS), optional.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the broker's certificate
	// (default: the broker's host).
	ServerName string
	// InsecureSkipVerify disables certificate verification. For tests only.
	InsecureSkipVerify bool
}

// SASL holds SASL PLAIN credentials.
type SASL struct {
	User, Password string
}

// String shows the user and masks the password.
func (s SASL) String() string { return "sasl{user=" + s.User + " password=***}" }

// LogValue masks the password in slog output.
func (s SASL) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Metrics are optional callbacks, called from Run's goroutine.
type Metrics struct {
	// Records is called with the number of records of each batch once feed
	// has accepted it.
	Records func(source string, n int)
	// Lag is called after each batch, for each partition in it, with how
	// many records of the partition are behind the batch (high watermark
	// minus the next offset).
	Lag func(source, topic string, partition int32, lag int64)
	// FeedErrors is called each time feed returns an error.
	FeedErrors func(source string)
}

// Stats are cumulative counters of a Source.
type Stats struct {
	Records      uint64 // records fed successfully
	Batches      uint64 // batches fed successfully
	FeedErrors   uint64 // feed calls that returned an error (retried)
	Commits      uint64 // successful offset commits
	CommitErrors uint64 // failed offset commits (retried later)
	FetchErrors  uint64 // fetch errors reported by the client (retried)
}

// String describes the options with the secrets masked.
func (o Options) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kafka{name=%s brokers=%v topics=%v group=%s", o.Name, o.Brokers, o.Topics, o.Group)
	if o.TLS.Enable {
		b.WriteString(" tls=on")
	}
	if o.SASL.User != "" {
		fmt.Fprintf(&b, " sasl_user=%s sasl_password=***", o.SASL.User)
	}
	if o.ConnectionString != "" {
		fmt.Fprintf(&b, " connection_string=%s", MaskConnectionString(o.ConnectionString))
	}
	b.WriteString("}")
	return b.String()
}

// LogValue masks the secrets in slog output (JSON handlers included).
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// Source consumes Kafka topics into a feed function. Make one with New and
// call Run once.
type Source struct {
	opts    Options
	feed    func(context.Context, []parse.Line) error
	kopts   []kgo.Opt
	log     *slog.Logger
	mech    string // "PLAIN" or ""
	user    string // SASL user, for errors
	started atomic.Bool

	mu      sync.Mutex
	pending map[string]map[int32]kgo.EpochOffset // fed, not yet committed

	records, batches, feedErrors, commits, commitErrors, fetchErrors atomic.Uint64
}

// New checks opts and makes a Source that hands batches to feed. feed must
// return nil only once the lines are safely handed on (durably stored):
// that is when their offsets are committed. Lines' Text is only valid
// during the call.
func New(opts Options, feed func(ctx context.Context, lines []parse.Line) error) (*Source, error) {
	if opts.Name == "" {
		opts.Name = "kafka"
	}
	fail := func(format string, a ...any) (*Source, error) {
		return nil, fmt.Errorf("kafka source %q: "+format, append([]any{opts.Name}, a...)...)
	}
	if feed == nil {
		return fail("no feed function")
	}
	if opts.ConnectionString != "" {
		cs, err := ParseConnectionString(opts.ConnectionString)
		if err != nil {
			return fail("%v", err)
		}
		if opts.SASL.User != "" || opts.SASL.Password != "" {
			return fail("connection_string and sasl credentials are exclusive")
		}
		if len(opts.Brokers) == 0 {
			opts.Brokers = []string{cs.Broker}
		}
		if len(opts.Topics) == 0 && cs.EntityPath != "" {
			opts.Topics = []string{cs.EntityPath}
		}
		opts.TLS.Enable = true
		opts.SASL = SASL{User: EventHubsUser, Password: cs.Raw()}
	}
	if len(opts.Brokers) == 0 {
		return fail("no brokers (set brokers, or connection_string for Azure Event Hubs)")
	}
	for _, b := range opts.Brokers {
		if strings.TrimSpace(b) == "" || strings.Contains(b, "://") {
			return fail("broker %q: want host:port", b)
		}
	}
	if len(opts.Topics) == 0 {
		if opts.ConnectionString != "" {
			return fail("no topics (set topics, or EntityPath in the connection string)")
		}
		return fail("no topics")
	}
	seen := map[string]bool{}
	for _, t := range opts.Topics {
		if t == "" {
			return fail("empty topic name")
		}
		if seen[t] {
			return fail("topic %q listed twice", t)
		}
		seen[t] = true
	}
	if opts.Group == "" {
		opts.Group = "vigil"
	}
	if opts.ClientID == "" {
		opts.ClientID = "vigil"
	}
	if (opts.SASL.User == "") != (opts.SASL.Password == "") {
		return fail("sasl needs both a user and a password")
	}
	var reset kgo.Offset
	switch strings.ToLower(opts.StartFrom) {
	case "", "earliest":
		reset = kgo.NewOffset().AtStart()
	case "latest":
		reset = kgo.NewOffset().AtEnd()
	default:
		return fail("start_from %q: want earliest or latest", opts.StartFrom)
	}
	if opts.MaxPollRecords < 0 {
		return fail("max_poll_records %d is negative", opts.MaxPollRecords)
	}
	if opts.MaxPollRecords == 0 {
		opts.MaxPollRecords = 500
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 500 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(30*time.Second, opts.RetryMin)
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Source{
		opts:    opts,
		feed:    feed,
		log:     opts.Logger.With("source", opts.Name),
		pending: map[string]map[int32]kgo.EpochOffset{},
	}
	s.kopts = []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ClientID(opts.ClientID),
		kgo.ConsumerGroup(opts.Group),
		kgo.ConsumeTopics(opts.Topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(s.onRevoked),
		kgo.OnPartitionsLost(s.onLost),
		kgo.WithLogger(kgoLogger{s.log}),
	}
	if opts.TLS.Enable {
		tc, err := opts.TLS.config()
		if err != nil {
			return fail("tls: %v", err)
		}
		s.kopts = append(s.kopts, kgo.DialTLSConfig(tc))
	}
	if opts.SASL.User != "" {
		s.mech, s.user = "PLAIN", opts.SASL.User
		s.kopts = append(s.kopts, kgo.SASL(plain.Auth{User: opts.SASL.User, Pass: opts.SASL.Password}.AsMechanism()))
	}
	s.kopts = append(s.kopts, opts.extra...)
	return s, nil
}

func (t TLS) config() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // documented as tests only
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate found", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("cert_file and key_file go together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Name is the source's name.
func (s *Source) Name() string { return s.opts.Name }

// Options are the options in effect (defaults filled in, connection string
// expanded). Print them with String, which masks the secrets.
func (s *Source) Options() Options { return s.opts }

// Stats returns the counters so far.
func (s *Source) Stats() Stats {
	return Stats{
		Records: s.records.Load(), Batches: s.batches.Load(), FeedErrors: s.feedErrors.Load(),
		Commits: s.commits.Load(), CommitErrors: s.commitErrors.Load(), FetchErrors: s.fetchErrors.Load(),
	}
}

// Run consumes until ctx ends, then commits what was fed, leaves the group
// and returns nil. It returns an error at once on what retrying cannot fix:
// failed authentication or authorization, an untrusted broker certificate.
// Other broker errors are logged and retried. Run may be called once.
func (s *Source) Run(ctx context.Context) error {
	if s.started.Swap(true) {
		return fmt.Errorf("kafka source %q: Run called twice", s.opts.Name)
	}
	cl, err := kgo.NewClient(s.kopts...)
	if err != nil {
		return fmt.Errorf("kafka source %q: %w", s.opts.Name, err)
	}
	s.log.Info("kafka source started", "brokers", s.opts.Brokers, "topics", s.opts.Topics,
		"group", s.opts.Group, "tls", s.opts.TLS.Enable, "sasl", s.mech)
	runErr := s.loop(ctx, cl)

	// Shut down: commit what was fed, then leave the group (which revokes
	// and so commits again what is pending) and close.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	s.commitPending(sctx, cl)
	cl.AllowRebalance()
	if err := cl.LeaveGroupContext(sctx); err != nil && runErr == nil {
		s.log.Warn("kafka: leaving the group", "err", err)
	}
	cl.Close()
	st := s.Stats()
	s.log.Info("kafka source stopped", "records", st.Records, "batches", st.Batches,
		"feed_errors", st.FeedErrors, "commit_errors", st.CommitErrors)
	return runErr
}

func (s *Source) loop(ctx context.Context, cl *kgo.Client) error {
	if err := s.check(ctx, cl); err != nil {
		return err
	}

	var lastWarn time.Time
	for {
		fetches := cl.PollRecords(ctx, s.opts.MaxPollRecords)
		if ctx.Err() != nil {
			// Records polled but not fed are not committed: they are
			// delivered again after a restart.
			return nil
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
				continue
			}
			if errors.Is(fe.Err, kgo.ErrClientClosed) {
				return fmt.Errorf("kafka source %q: client closed", s.opts.Name)
			}
			if ferr := s.fatal(fe.Err); ferr != nil {
				return ferr
			}
			s.fetchErrors.Add(1)
			if time.Since(lastWarn) > 10*time.Second {
				lastWarn = time.Now()
				s.log.Warn("kafka: fetch error; retrying", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
			}
		}

		var lines []parse.Line
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			file := "kafka:" + p.Topic + "/" + strconv.FormatInt(int64(p.Partition), 10)
			for _, r := range p.Records {
				lines = append(lines, parse.Line{Text: r.Value, File: file, Offset: r.Offset, No: r.Offset + 1})
			}
		})
		if len(lines) == 0 {
			cl.AllowRebalance()
			continue
		}
		if !s.feedRetry(ctx, lines) {
			return nil // ctx ended before feed accepted the batch: not committed
		}
		s.markFed(fetches)
		s.records.Add(uint64(len(lines)))
		s.batches.Add(1)
		if f := s.opts.Metrics.Records; f != nil {
			f(s.opts.Name, len(lines))
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
		s.commitPending(cctx, cl)
		cancel()
		if f := s.opts.Metrics.Lag; f != nil {
			fetches.EachPartition(func(p kgo.FetchTopicPartition) {
				if n := len(p.Records); n > 0 {
					f(s.opts.Name, p.Topic, p.Partition, max(0, p.HighWatermark-(p.Records[n-1].Offset+1)))
				}
			})
		}
		cl.AllowRebalance()
	}
}

// check makes a first round trip to the brokers, to report early what
// retrying cannot fix: bad credentials, an untrusted certificate, TLS on one
// side only. Other failures (no broker reachable yet) are logged; the
// client keeps retrying.
func (s *Source) check(ctx context.Context, cl *kgo.Client) error {
	var err error
	wait := 200 * time.Millisecond
	for attempt := 1; attempt <= 3; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = cl.Ping(pctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if ferr := s.fatal(err); ferr != nil {
			return ferr
		}
		if !closedEarly(err) {
			break
		}
		// Closed right after connecting: retry a little in case the
		// broker was just restarting, then call it a misconfiguration.
		if attempt < 3 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			wait *= 2
		}
	}
	if closedEarly(err) {
		var first *kgo.ErrFirstReadEOF
		switch {
		case errors.As(err, &first):
			return fmt.Errorf("kafka source %q: %w", s.opts.Name, err)
		case s.mech != "":
			return fmt.Errorf("kafka source %q: authentication failed (SASL %s, user %q): the broker closed the connection: wrong password or connection string? (%w)",
				s.opts.Name, s.mech, s.user, err)
		case s.opts.TLS.Enable:
			return fmt.Errorf("kafka source %q: the broker closed the connection: does it speak TLS, or does it require SASL? (%w)", s.opts.Name, err)
		default:
			return fmt.Errorf("kafka source %q: the broker closed the connection: does it require TLS or SASL? (%w)", s.opts.Name, err)
		}
	}
	s.log.Warn("kafka: no broker answered yet; retrying", "err", err)
	return nil
}

// closedEarly reports whether err is a connection closed by the broker.
func closedEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// feedRetry hands lines to feed until it returns nil (true) or ctx ends
// (false).
func (s *Source) feedRetry(ctx context.Context, lines []parse.Line) bool {
	wait := s.opts.RetryMin
	for attempt := 1; ; attempt++ {
		err := s.feed(ctx, lines)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.feedErrors.Add(1)
		if f := s.opts.Metrics.FeedErrors; f != nil {
			f(s.opts.Name)
		}
		d := wait/2 + rand.N(wait/2+1) // jitter: [wait/2, wait]
		s.log.Error("kafka: feed failed; retrying the same records", "attempt", attempt,
			"records", len(lines), "first", lines[0].File+"@"+strconv.FormatInt(lines[0].Offset, 10),
			"retry_in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(wait*2, s.opts.RetryMax)
	}
}

// markFed records the offsets after the batch's last records as to be
// committed.
func (s *Source) markFed(fetches kgo.Fetches) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		n := len(p.Records)
		if n == 0 {
			return
		}
		last := p.Records[n-1]
		eo := kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
		if s.opts.Committable != nil {
			c, ok := s.opts.Committable("kafka:" + p.Topic + "/" + strconv.FormatInt(int64(p.Partition), 10))
			if !ok {
				return // nothing of this partition is finished with yet
			}
			eo.Offset = min(eo.Offset, c+1)
		}
		ps := s.pending[p.Topic]
		if ps == nil {
			ps = map[int32]kgo.EpochOffset{}
			s.pending[p.Topic] = ps
		}
		if cur, ok := ps[p.Partition]; !ok || cur.Less(eo) {
			ps[p.Partition] = eo
		}
	})
}

// commitPending commits the fed offsets not yet committed. On failure they
// stay pending and are committed with the next batch, on revocation or at
// shutdown.
func (s *Source) commitPending(ctx context.Context, cl *kgo.Client) {
	s.mu.Lock()
	snap := make(map[string]map[int32]kgo.EpochOffset, len(s.pending))
	for t, ps := range s.pending {
		m := make(map[int32]kgo.EpochOffset, len(ps))
		for p, eo := range ps {
			m[p] = eo
		}
		snap[t] = m
	}
	s.mu.Unlock()
	if len(snap) == 0 {
		return
	}
	var rerr error
	cl.CommitOffsetsSync(ctx, snap, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			rerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && rerr == nil {
					rerr = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	if rerr != nil {
		s.commitErrors.Add(1)
		s.log.Warn("kafka: offset commit failed; the records will be committed later or delivered again", "err", rerr)
		return
	}
	s.commits.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ps := range snap {
		for p, eo := range ps {
			if s.pending[t][p] == eo {
				delete(s.pending[t], p)
			}
		}
		if len(s.pending[t]) == 0 {
			delete(s.pending, t)
		}
	}
}

// onRevoked commits what was fed before the partitions go (rebalance or
// leaving the group). With BlockRebalanceOnPoll it runs between batches.
func (s *Source) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.ShutdownTimeout)
	s.commitPending(cctx, cl)
	cancel()
	s.drop(revoked)
}

// onLost forgets the pending offsets of partitions lost without a
// revocation (the member was removed from the group): committing them now
// could rewind the new owner; their records are delivered again there.
func (s *Source) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	if n := s.drop(lost); n > 0 {
		s.log.Warn("kafka: partitions lost with fed records not committed; they will be delivered again", "partitions", n)
	}
}

func (s *Source) drop(parts map[string][]int32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for t, ps := range parts {
		for _, p := range ps {
			if _, ok := s.pending[t][p]; ok {
				delete(s.pending[t], p)
				n++
			}
		}
		if len(s.pending[t]) == 0 {
			delete(s.pending, t)
		}
	}
	return n
}

// fatal returns a descriptive error for errors retrying cannot fix, nil for
// the others.
func (s *Source) fatal(err error) error {
	prefix := fmt.Sprintf("kafka source %q", s.opts.Name)
	var (
		unknownCA *x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   *tls.CertificateVerificationError
		recErr    tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState),
		errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Errorf("%s: authentication failed (SASL %s, user %q): %w", prefix, s.mech, s.user, err)
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.GroupAuthorizationFailed),
		errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("%s: not authorized: %w", prefix, err)
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr):
		return fmt.Errorf("%s: broker certificate not trusted (tls ca_file / server_name): %w", prefix, err)
	case errors.As(err, &recErr):
		return fmt.Errorf("%s: TLS handshake failed (does the broker speak TLS?): %w", prefix, err)
	}
	return nil
}

// kgoLogger passes the client's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelWarn
	if level == kgo.LogLevelError {
		lvl = slog.LevelError
	}
	k.l.Log(context.Background(), lvl, "kafka client: "+msg, keyvals...)
}
