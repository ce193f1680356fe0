package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigildb/vigil/parse"
)

var (
	testTopics = []string{"pg-logs", "mysql-audit"}
	testParts  = int32(4)
)

// fileOf is the Line.File of a topic/partition.
func fileOf(topic string, p int32) string { return fmt.Sprintf("kafka:%s/%d", topic, p) }

// value is record i of a partition: every 4th one is a multi-line JSON
// document (Azure's records envelope), the others NDJSON lines.
func value(file string, i int) string {
	if i%4 == 0 {
		return fmt.Sprintf("{\"records\": [\n  {\"file\": %q, \"i\": %d},\n  {\"i\": %d}\n]}", file, i, i)
	}
	return fmt.Sprintf(`{"file":%q,"i":%d}`, file, i)
}

// testCluster is a kfake cluster with the test topics and a map of topic ids.
type testCluster struct {
	*kfake.Cluster
	addrs []string
	names map[[16]byte]string
}

func newCluster(t *testing.T, opts ...kfake.Opt) *testCluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(testParts, testTopics...)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	tc := &testCluster{Cluster: c, addrs: c.ListenAddrs(), names: map[[16]byte]string{}}
	for _, topic := range testTopics {
		tc.names[c.TopicInfo(topic).TopicID] = topic
	}
	return tc
}

// produce writes records [from, to) to every partition of every test topic.
func produce(t *testing.T, addrs []string, from, to int, opts ...kgo.Opt) {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for _, topic := range testTopics {
		for p := range testParts {
			for i := from; i < to; i++ {
				rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(value(fileOf(topic, p), i))})
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// recorder is a feed that records what it is given.
type recorder struct {
	mu      sync.Mutex
	order   []string           // "file@offset" in delivery order
	seen    map[string]int     // "file@offset" -> times delivered
	fed     map[string]int64   // file -> offset after the last record fed successfully
	texts   map[string]string  // "file@offset" -> text
	batches [][]parse.Line     // successful batches (copied)
	failed  [][]parse.Line     // failed attempts (copied)
	failN   int                // fail this many calls first
	want    int                // close done when this many distinct records were fed
	done    chan struct{}      //
	after   func(distinct int) // called (under mu) after each successful batch
}

func newRecorder(want int) *recorder {
	return &recorder{seen: map[string]int{}, fed: map[string]int64{}, texts: map[string]string{},
		want: want, done: make(chan struct{})}
}

func key(file string, off int64) string { return file + "@" + fmt.Sprint(off) }

func copyLines(lines []parse.Line) []parse.Line {
	out := make([]parse.Line, len(lines))
	for i, l := range lines {
		l.Text = slices.Clone(l.Text)
		out[i] = l
	}
	return out
}

func (r *recorder) feed(_ context.Context, lines []parse.Line) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failN > 0 {
		r.failN--
		r.failed = append(r.failed, copyLines(lines))
		return errors.New("store unavailable")
	}
	for _, l := range lines {
		k := key(l.File, l.Offset)
		r.order = append(r.order, k)
		r.seen[k]++
		r.texts[k] = string(l.Text)
		if l.No != l.Offset+1 {
			return fmt.Errorf("line %s: No %d", k, l.No)
		}
		r.fed[l.File] = max(r.fed[l.File], l.Offset+1)
	}
	r.batches = append(r.batches, copyLines(lines))
	if r.after != nil {
		r.after(len(r.seen))
	}
	if len(r.seen) >= r.want && r.want > 0 {
		select {
		case <-r.done:
		default:
			close(r.done)
		}
	}
	return nil
}

func (r *recorder) fedUpTo(file string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fed[file]
}

// perFile splits the delivery order by file, as offsets.
func (r *recorder) perFile() map[string][]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]int64{}
	for _, k := range r.order {
		i := strings.LastIndexByte(k, '@')
		var off int64
		fmt.Sscan(k[i+1:], &off)
		out[k[:i]] = append(out[k[:i]], off)
	}
	return out
}

// checkCommits makes every OffsetCommit request the cluster gets fail the
// test if it commits past what feed accepted (feeds are the recorders that
// may have fed the partition). While failing is set and not 0, commits are
// answered with an error instead (a crash between feed and commit), and
// failing is decremented when positive (-1: fail every commit).
func (c *testCluster) checkCommits(t *testing.T, failing *atomic.Int64, feeds ...*recorder) {
	c.ControlKey(int16(kmsg.OffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.OffsetCommitRequest)
		for _, rt := range req.Topics {
			topic := rt.Topic
			if topic == "" {
				topic = c.names[rt.TopicID]
			}
			for _, rp := range rt.Partitions {
				file := fileOf(topic, rp.Partition)
				var fed int64
				for _, f := range feeds {
					fed = max(fed, f.fedUpTo(file))
				}
				if rp.Offset > fed {
					t.Errorf("commit of %s at %d, but feed accepted only up to %d", file, rp.Offset, fed)
				}
			}
		}
		if failing == nil || failing.Load() == 0 {
			return nil, nil, false
		}
		if failing.Add(-1) < 0 {
			failing.Store(-1)
		}
		c.KeepControl()
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		resp.Version = req.Version
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// committed is the group's committed offset per file.
func (c *testCluster) committed(group string) map[string]int64 {
	out := map[string]int64{}
	gi := c.GroupInfo(group)
	if gi == nil {
		return out
	}
	for topic, ps := range gi.Commits {
		for p, gc := range ps {
			out[fileOf(topic, p)] = gc.Offset
		}
	}
	return out
}

// fast are kgo options that make group changes quick in tests.
func fast() []kgo.Opt {
	return []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.FetchMaxWait(200 * time.Millisecond)}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func baseOptions(t *testing.T, c *testCluster, group string) Options {
	return Options{Name: "eh", Brokers: c.addrs, Topics: testTopics, Group: group, MaxPollRecords: 37,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond, Logger: testLogger(t), extra: fast()}
}

// runSource runs s in a goroutine; the returned channel gets Run's result.
func runSource(ctx context.Context, s *Source) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- s.Run(ctx) }()
	return ch
}

func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func waitRun(t *testing.T, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// checkExactlyOnce checks that each file got offsets 0..n-1 once, in order,
// with the produced texts.
func checkExactlyOnce(t *testing.T, r *recorder, n int) {
	t.Helper()
	got := r.perFile()
	for _, topic := range testTopics {
		for p := range testParts {
			file := fileOf(topic, p)
			offs := got[file]
			if len(offs) != n {
				t.Errorf("%s: %d records delivered, want %d", file, len(offs), n)
			}
			for i, off := range offs {
				if off != int64(i) {
					t.Errorf("%s: record %d has offset %d (order or duplicate)", file, i, off)
					break
				}
			}
			r.mu.Lock()
			for i := range n {
				if got, want := r.texts[key(file, int64(i))], value(file, i); got != want {
					t.Errorf("%s@%d: text %q, want %q", file, i, got, want)
				}
			}
			r.mu.Unlock()
		}
	}
}

func TestConsumeAll(t *testing.T) {
	const n = 50
	c := newCluster(t)
	produce(t, c.addrs, 0, n)
	rec := newRecorder(n * len(testTopics) * int(testParts))
	c.checkCommits(t, nil, rec)

	var metricRecords atomic.Int64
	var lagMu sync.Mutex
	lag := map[string]int64{}
	opts := baseOptions(t, c, "g1")
	opts.Metrics = Metrics{
		Records: func(source string, n int) {
			if source != "eh" {
				t.Errorf("metrics source %q", source)
			}
			metricRecords.Add(int64(n))
		},
		Lag: func(_, topic string, p int32, l int64) {
			lagMu.Lock()
			lag[fileOf(topic, p)] = l
			lagMu.Unlock()
		},
	}
	s, err := New(opts, rec.feed)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := runSource(ctx, s)
	waitDone(t, rec.done, "all records")
	cancel()
	waitRun(t, ch)

	checkExactlyOnce(t, rec, n)
	for file, off := range c.committed("g1") {
		if off != n {
			t.Errorf("%s: committed %d, want %d", file, off, n)
		}
	}
	if got := len(c.committed("g1")); got != len(testTopics)*int(testParts) {
		t.Errorf("%d partitions committed", got)
	}
	st := s.Stats()
	if st.Records != uint64(rec.want) || metricRecords.Load() != int64(rec.want) || st.FeedErrors != 0 {
		t.Errorf("stats %+v, metric records %d", st, metricRecords.Load())
	}
	for file, l := range lag {
		if l != 0 {
			t.Errorf("%s: final lag %d", file, l)
		}
	}
	// The group was left cleanly.
	if gi := c.GroupInfo("g1"); gi != nil && len(gi.Members) != 0 {
		t.Errorf("group still has members: %+v", gi.Members)
	}
}

// A feed that fails is retried with the same records; nothing is committed
// before the feed accepted it (checkCommits) and nothing is lost.
func TestFeedFailuresRetried(t *testing.T) {
	const n = 30
	c := newCluster(t)
	produce(t, c.addrs, 0, n)
	rec := newRecorder(n * len(testTopics) * int(testParts))
	rec.failN = 3
	c.checkCommits(t, nil, rec)
	var feedErrs atomic.Int64
	opts := baseOptions(t, c, "g2")
	opts.Metrics.FeedErrors = func(string) { feedErrs.Add(1) }
	s, err := New(opts, rec.feed)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := runSource(ctx, s)
	waitDone(t, rec.done, "all records")
	cancel()
	waitRun(t, ch)

	checkExactlyOnce(t, rec, n)
	rec.mu.Lock()
	if len(rec.failed) != 3 {
		t.Fatalf("%d failed attempts", len(rec.failed))
	}
	for i, f := range rec.failed {
		if !slices.EqualFunc(f, rec.batches[0], func(a, b parse.Line) bool {
			return a.File == b.File && a.Offset == b.Offset && string(a.Text) == string(b.Text)
		}) {
			t.Errorf("attempt %d was not the same batch as the one finally fed", i+1)
		}
	}
	rec.mu.Unlock()
	if st := s.Stats(); st.FeedErrors != 3 || feedErrs.Load() != 3 {
		t.Errorf("stats %+v, metric %d", st, feedErrs.Load())
	}
	for file, off := range c.committed("g2") {
		if off != n {
			t.Errorf("%s: committed %d, want %d", file, off, n)
		}
	}
}

// A feed that never succeeds commits nothing, and Run still stops when the
// context ends.
func TestFeedFailingForeverCommitsNothing(t *testing.T) {
	c := newCluster(t)
	produce(t, c.addrs, 0, 5)
	rec := newRecorder(0)
	rec.failN = 1 << 30
	c.checkCommits(t, nil, rec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := baseOptions(t, c, "g3")
	attempts := make(chan struct{}, 100)
	opts.Metrics.FeedErrors = func(string) {
		select {
		case attempts <- struct{}{}:
		default:
		}
	}
	s, err := New(opts, rec.feed)
	if err != nil {
		t.Fatal(err)
	}
	ch := runSource(ctx, s)
	for range 5 {
		waitDone(t, recv(attempts), "feed attempts")
	}
	cancel()
	waitRun(t, ch)
	if got := c.committed("g3"); len(got) != 0 {
		t.Errorf("committed %v with no successful feed", got)
	}
}

// recv turns one receive on ch into a done channel.
func recv(ch <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() { <-ch; close(done) }()
	return done
}

// A source stopped midway and a new one in the same group deliver every
// record at least once, without a gap; the records delivered twice are
// exactly those fed but not committed.
func TestRestart(t *testing.T) {
	for _, tc := range []struct {
		name        string
		failCommits int64 // commits that fail once midway (-1: all)
		crash       bool  // the last batch stays uncommitted
	}{
		{"clean stop", 0, false},
		// The last batch's commit fails; the commit at shutdown makes up
		// for it.
		{"commit fails once", 1, false},
		// Every commit fails from the last batch on: as if the process
		// died right after the store write.
		{"crash after feed", -1, true},
	} {
		crash := tc.crash
		t.Run(tc.name, func(t *testing.T) {
			const n = 50
			total := n * len(testTopics) * int(testParts)
			c := newCluster(t)
			produce(t, c.addrs, 0, n)
			var failing atomic.Int64
			recA, recB := newRecorder(0), newRecorder(0)
			c.checkCommits(t, &failing, recA, recB)

			ctxA, cancelA := context.WithCancel(context.Background())
			defer cancelA()
			recA.after = func(distinct int) {
				if distinct >= total/3 && ctxA.Err() == nil {
					failing.Store(tc.failCommits)
					cancelA()
				}
			}
			optsA := baseOptions(t, c, "g4")
			optsA.MaxPollRecords = 10
			a, err := New(optsA, recA.feed)
			if err != nil {
				t.Fatal(err)
			}
			waitRun(t, runSource(ctxA, a))
			if tc.failCommits != 0 && a.Stats().CommitErrors == 0 {
				t.Error("no commit failed")
			}
			failing.Store(0)
			commitA := c.committed("g4")
			gotA := recA.perFile()

			// Fed but not committed by A, per file.
			uncommitted := map[string]bool{}
			for file, offs := range gotA {
				for _, off := range offs {
					if off >= commitA[file] {
						uncommitted[key(file, off)] = true
					}
				}
			}
			recA.mu.Lock()
			lastBatch := recA.batches[len(recA.batches)-1]
			recA.mu.Unlock()
			if crash {
				if len(uncommitted) != len(lastBatch) {
					t.Errorf("crash: %d records fed but not committed, want the last batch (%d)", len(uncommitted), len(lastBatch))
				}
				for _, l := range lastBatch {
					if !uncommitted[key(l.File, l.Offset)] {
						t.Errorf("crash: %s@%d of the last batch was committed", l.File, l.Offset)
					}
				}
			} else if len(uncommitted) != 0 {
				t.Errorf("clean stop left %d records fed but not committed", len(uncommitted))
			}

			// B resumes from the committed offsets.
			want := 0
			for _, topic := range testTopics {
				for p := range testParts {
					want += n - int(commitA[fileOf(topic, p)])
				}
			}
			recB.want = want
			ctxB, cancelB := context.WithCancel(context.Background())
			defer cancelB()
			b, err := New(baseOptions(t, c, "g4"), recB.feed)
			if err != nil {
				t.Fatal(err)
			}
			chB := runSource(ctxB, b)
			waitDone(t, recB.done, "the rest of the records")
			cancelB()
			waitRun(t, chB)

			gotB := recB.perFile()
			dups := map[string]bool{}
			for _, topic := range testTopics {
				for p := range testParts {
					file := fileOf(topic, p)
					a, b := gotA[file], gotB[file]
					for i, off := range a {
						if off != int64(i) {
							t.Fatalf("%s: A delivered %v", file, a)
						}
					}
					start := commitA[file]
					for i, off := range b {
						if off != start+int64(i) {
							t.Fatalf("%s: B delivered %v, want from %d on", file, b, start)
						}
					}
					if int64(len(a)) < start || start+int64(len(b)) != n {
						t.Errorf("%s: A delivered [0,%d), committed %d, B delivered [%d,%d): gap or loss", file, len(a), start, start, start+int64(len(b)))
					}
					for off := start; off < int64(len(a)); off++ {
						dups[key(file, off)] = true
					}
				}
			}
			if !maps.Equal(dups, uncommitted) {
				t.Errorf("delivered twice: %d records, fed but uncommitted: %d", len(dups), len(uncommitted))
			}
			t.Logf("A fed %d, B fed %d, delivered twice %d", len(recA.order), len(recB.order), len(dups))
			for file, off := range c.committed("g4") {
				if off != n {
					t.Errorf("%s: final commit %d, want %d", file, off, n)
				}
			}
		})
	}
}

// Two sources in one group split the partitions and together deliver
// everything, in order per partition, with no record twice.
func TestTwoMembers(t *testing.T) {
	const n = 60
	total := n * len(testTopics) * int(testParts)
	c := newCluster(t)
	produce(t, c.addrs, 0, n/2)

	// Both members feed one shared log, so the order per partition can be
	// checked across the hand-over.
	shared := newRecorder(total)
	var countA, countB atomic.Int64
	feedOf := func(cnt *atomic.Int64) func(context.Context, []parse.Line) error {
		return func(ctx context.Context, lines []parse.Line) error {
			cnt.Add(int64(len(lines)))
			return shared.feed(ctx, lines)
		}
	}
	var failing atomic.Int64
	c.checkCommits(t, &failing, shared)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	optsA := baseOptions(t, c, "g5")
	optsA.MaxPollRecords = 5
	started := make(chan struct{})
	var once sync.Once
	var lastFile string
	shared.after = func(distinct int) {
		if distinct == total/2 {
			// A has fed the whole first half; the commit of its last
			// batch fails, so it is still pending when B joins and A's
			// partitions are revoked: the revocation must commit it, or
			// B would deliver it again.
			failing.Store(1)
			lastFile = shared.batches[len(shared.batches)-1][0].File
			once.Do(func() { close(started) })
		}
	}
	a, err := New(optsA, feedOf(&countA))
	if err != nil {
		t.Fatal(err)
	}
	chA := runSource(ctx, a)
	waitDone(t, started, "A to consume the first half")

	optsB := baseOptions(t, c, "g5")
	optsB.MaxPollRecords = 5
	optsB.ClientID = "vigil-b"
	b, err := New(optsB, feedOf(&countB))
	if err != nil {
		t.Fatal(err)
	}
	chB := runSource(ctx, b)
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	gi, err := c.WaitGroupInfo(wctx, "g5", func(g *kfake.GroupInfo) bool {
		return g != nil && g.State == "Stable" && len(g.Members) == 2 &&
			g.Members[0].NumAssigned() > 0 && g.Members[1].NumAssigned() > 0 && g.NumAssigned() == 8
	})
	wcancel()
	if err != nil {
		t.Fatalf("group did not split: %+v, %v", gi, err)
	}
	bBefore := countB.Load()
	if a.Stats().CommitErrors != 1 {
		t.Errorf("A: %d commit errors, want 1", a.Stats().CommitErrors)
	}
	for _, m := range gi.Members {
		for topic, ps := range m.Assignment {
			for _, p := range ps {
				if fileOf(topic, p) == lastFile {
					t.Logf("the partition of A's uncommitted batch (%s) went to %s", lastFile, m.ClientID)
				}
			}
		}
	}
	produce(t, c.addrs, n/2, n)
	waitDone(t, shared.done, "all records")
	cancel()
	waitRun(t, chA)
	waitRun(t, chB)

	checkExactlyOnce(t, shared, n)
	t.Logf("A fed %d, B fed %d (%d before the second half)", countA.Load(), countB.Load(), bBefore)
	if countA.Load() == 0 || countB.Load() == bBefore {
		t.Errorf("partitions not split: A %d, B %d (B %d before the second half)", countA.Load(), countB.Load(), bBefore)
	}
	for file, off := range c.committed("g5") {
		if off != n {
			t.Errorf("%s: committed %d, want %d", file, off, n)
		}
	}
}

// A new group with StartFrom "latest" skips what the topics held before it
// joined.
func TestStartFromLatest(t *testing.T) {
	c := newCluster(t)
	produce(t, c.addrs, 0, 5)
	rec := newRecorder(1)
	opts := baseOptions(t, c, "g6")
	opts.StartFrom = "latest"
	s, err := New(opts, rec.feed)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := runSource(ctx, s)
	if _, err := c.WaitGroupStable(ctx, "g6", 1); err != nil {
		t.Fatal(err)
	}
	// The start offsets are looked up after the assignment: produce until
	// something arrives.
	for i := 5; ; i++ {
		produce(t, c.addrs, i, i+1)
		select {
		case <-rec.done:
		case <-time.After(100 * time.Millisecond):
			if i < 100 {
				continue
			}
			t.Fatal("nothing delivered")
		}
		break
	}
	cancel()
	waitRun(t, ch)
	for file, offs := range rec.perFile() {
		if offs[0] < 5 {
			t.Errorf("%s: delivered %v, which the topic held before the group joined", file, offs)
		}
	}
	if s.Run(context.Background()) == nil {
		t.Error("second Run accepted")
	}
}
