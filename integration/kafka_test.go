package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	_ "github.com/vigildb/vigil/parse/azure" // the azure input format
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/source/kafka"
	"github.com/vigildb/vigil/store"
)

const (
	kafkaTopic  = "insights-logs"
	kafkaParts  = 4
	kafkaGroup  = "vigil"
	kafkaSource = "eventhub"
	// kafkaPerMessage is how many records of one resource an Event Hubs
	// message body holds at most.
	kafkaPerMessage = 3
)

// ehMessage is one Event Hubs message: a {"records":[...]} body holding
// consecutive records of one resource, keyed by that resource.
type ehMessage struct {
	key     string
	body    []byte
	records int
}

// azureMessages cuts the Azure samples (testdata/azure, in name order, as
// pipeline/azure_test.go replays them) into Event Hubs message bodies of at
// most kafkaPerMessage records of one resource each, in their order.
func azureMessages(t *testing.T) []ehMessage {
	t.Helper()
	paths, err := filepath.Glob("../testdata/azure/*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Azure samples: %v", err)
	}
	sort.Strings(paths)
	var msgs []ehMessage
	var cur []json.RawMessage
	var curKey string
	flush := func() {
		if len(cur) == 0 {
			return
		}
		body, err := json.Marshal(struct {
			Records []json.RawMessage `json:"records"`
		}{cur})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, ehMessage{key: curKey, body: body, records: len(cur)})
		cur = nil
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var v json.RawMessage
			if err := dec.Decode(&v); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			var doc struct {
				Records []json.RawMessage `json:"records"`
			}
			if err := json.Unmarshal(v, &doc); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			recs := doc.Records
			if recs == nil {
				recs = []json.RawMessage{v} // one record per line
			}
			for _, r := range recs {
				var head struct {
					ResourceID string `json:"resourceId"`
				}
				if err := json.Unmarshal(r, &head); err != nil || head.ResourceID == "" {
					t.Fatalf("%s: a record without resourceId: %.200s", p, r)
				}
				var c bytes.Buffer
				if err := json.Compact(&c, r); err != nil {
					t.Fatal(err)
				}
				key := azureResource(head.ResourceID)
				if key != curKey || len(cur) == kafkaPerMessage {
					flush()
					curKey = key
				}
				cur = append(cur, c.Bytes())
			}
		}
	}
	flush()
	return msgs
}

// azureResource is the server or account a resource id names (child
// resources such as containers or firewall rules cut off), upper case: the
// partition key, so that one resource's records stay in order in one
// partition.
func azureResource(id string) string {
	parts := strings.Split(strings.ToUpper(id), "/")
	// "", SUBSCRIPTIONS, S, RESOURCEGROUPS, G, PROVIDERS, NS, TYPE, NAME
	if len(parts) > 9 {
		parts = parts[:9]
	}
	return strings.Join(parts, "/")
}

// kafkaEventKey identifies an event by what it says (ids differ between
// the live run, which names the partition, and a replay, which names the
// input).
func kafkaEventKey(ev *event.Event) string {
	return fmt.Sprintf("%d|%s|%s|%s|%s|%s|%s|%s|%s|%d", ev.Time.UnixNano(), ev.Server.Address, ev.User.Name, ev.Client.Address,
		ev.Event.Action, ev.Event.Outcome, ev.DB.Operation.Name, ev.DB.Query.Text, ev.Session.ID, ev.DB.Response.Bytes)
}

// kafkaAlertKey is an alert's rule and group, all of it, in key order.
func kafkaAlertKey(a *event.Alert) string {
	keys := slices.Sorted(maps.Keys(a.Group))
	var b strings.Builder
	b.WriteString(a.RuleID)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, a.Group[k])
	}
	return b.String()
}

// kafkaAlertCounts maps each alert key to the counts of its alerts, sorted
// (a rule may raise several alerts for one group, in separate windows).
func kafkaAlertCounts(as []*event.Alert) map[string][]int64 {
	out := map[string][]int64{}
	for _, a := range as {
		k := kafkaAlertKey(a)
		out[k] = append(out[k], a.Count)
	}
	for _, c := range out {
		slices.Sort(c)
	}
	return out
}

// kafkaFeedLog is the feed the two members share: it hands each batch to
// the runner and records, once it is stored, which records were fed how
// many times and by whom. The first batch fed once half of the messages
// have been fed kills the member feeding it (kill is called under mu).
type kafkaFeedLog struct {
	mu        sync.Mutex
	times     map[string]int      // "partition@offset" -> times fed (stored)
	byMember  [2]map[string]bool  // records each member fed
	records   [2]int              // records fed per member, re-deliveries included
	batches   [2]int              // batches fed per member
	changed   chan struct{}       // closed and replaced after each batch
	killAt    int                 // distinct records fed before the kill
	victim    int                 // the member killed, -1 before
	victimEnd map[string]struct{} // the victim's last batch
	kill      func(member int)
	killed    chan struct{}
}

func kafkaRecordKey(partition int32, offset int64) string {
	return fmt.Sprintf("%d@%d", partition, offset)
}

// lineRecordKey is the key of a Line: its File is "kafka:TOPIC/PARTITION".
func lineRecordKey(ln parse.Line) string {
	i := strings.LastIndexByte(ln.File, '/')
	return ln.File[i+1:] + "@" + fmt.Sprint(ln.Offset)
}

func (f *kafkaFeedLog) feed(runner *pipeline.LiveRunner, member int) func(context.Context, []parse.Line) error {
	return func(ctx context.Context, lines []parse.Line) error {
		if err := runner.Feed(ctx, kafkaSource, lines); err != nil {
			return err
		}
		// Stored. Kill the member now, before its source commits the
		// batch's offsets: that commit is lost, so another member gets
		// the batch again.
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.victim < 0 && len(f.times) >= f.killAt {
			f.victim = member
			f.victimEnd = map[string]struct{}{}
			for _, ln := range lines {
				f.victimEnd[lineRecordKey(ln)] = struct{}{}
			}
			f.kill(member)
			close(f.killed)
		}
		for _, ln := range lines {
			k := lineRecordKey(ln)
			f.times[k]++
			f.byMember[member][k] = true
		}
		f.records[member] += len(lines)
		f.batches[member]++
		close(f.changed)
		f.changed = make(chan struct{})
		return nil
	}
}

// wait waits until cond (called under mu) holds, ctx ends or stop is
// closed (the pipeline returned).
func (f *kafkaFeedLog) wait(ctx context.Context, stop <-chan struct{}, cond func() bool) error {
	for {
		f.mu.Lock()
		ok, ch := cond(), f.changed
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return errors.New("the pipeline stopped")
		}
	}
}

func kafkaTestLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(kafkaTestWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type kafkaTestWriter struct{ t *testing.T }

func (w kafkaTestWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestKafkaEventHubsMemberKilled: the Azure samples, as Event Hubs message
// bodies keyed by resource (each resource on one partition, in order), go
// through a 4-partition topic of a kfake
// cluster into one vigil pipeline (a LiveRunner) fed by two kafka sources
// of one consumer group. Once half of the messages are fed, the member
// feeding the next batch is killed right after the batch is stored and
// before its offsets are committed (its commits fail from then on; it then
// stops and leaves the group): the other member takes its partitions over
// and gets that batch again. The store must hold every event exactly once
// (the same events as a replay of the same records) and exactly the
// replay's alerts, with the same counts.
//
// Messages are produced one at a time, each once the previous one is
// stored, so the pipeline sees the records in the replay's order whatever
// partition and member they go through (the detection windows follow event
// time across resources: feeding the partitions in parallel would make the
// alerts depend on scheduling). The member is stopped rather than killed
// outright because kafka.Options cannot shorten the group's session
// timeout (45 s) that a vanished member would cost; what the kill is about,
// a stored batch whose commit never happens, is the same.
func TestKafkaEventHubsMemberKilled(t *testing.T) {
	start := time.Now()
	msgs := azureMessages(t)
	var nrec int
	for _, m := range msgs {
		nrec += m.records
	}

	// What a replay of the same records, in the same order, gives.
	var stream bytes.Buffer
	for _, m := range msgs {
		stream.Write(m.body)
		stream.WriteByte('\n')
	}
	want := map[string]int{}
	var replayEvents int
	res, err := pipeline.Replay(context.Background(), pipeline.Options{InputFormat: "azure", SourceName: kafkaSource,
		OnEvent: func(ev *event.Event) {
			want[kafkaEventKey(ev)]++
			replayEvents++
		}},
		pipeline.Input{Name: kafkaSource, R: bytes.NewReader(stream.Bytes()), Size: int64(stream.Len())})
	if err != nil {
		t.Fatal(err)
	}
	if res.UnparsedCount > 0 {
		t.Fatalf("the replay left %d lines unparsed: %v", res.UnparsedCount, res.Unparsed)
	}
	if len(res.Alerts) == 0 {
		t.Fatal("the replay raised no alert: the test would prove nothing about alerts")
	}
	// The messages tell the story of pipeline/azure_test.go: a replay of
	// the sample files raises the same alerts.
	samples, err := filepath.Glob("../testdata/azure/*")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(samples)
	var inputs []pipeline.Input
	for _, p := range samples {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, pipeline.Input{Name: filepath.Base(p), R: bytes.NewReader(b), Size: int64(len(b))})
	}
	orig, err := pipeline.Replay(context.Background(), pipeline.Options{SourceName: kafkaSource}, inputs...)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := kafkaAlertCounts(res.Alerts), kafkaAlertCounts(orig.Alerts); !maps.EqualFunc(a, b, slices.Equal) {
		t.Errorf("the messages' replay raises other alerts than the samples':\nmessages: %v\nsamples:  %v", a, b)
	}

	// The cluster; the OffsetCommits of a killed member fail.
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(kafkaParts, kafkaTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var deadMember atomic.Value // member id whose commits fail
	deadMember.Store("")
	var lostCommits atomic.Int64
	c.ControlKey(int16(kmsg.OffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.OffsetCommitRequest)
		if dead := deadMember.Load().(string); dead == "" || req.MemberID != dead {
			return nil, nil, false
		}
		c.KeepControl()
		lostCommits.Add(1)
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

	// vigil: one pipeline, two members of one group feeding it.
	dataDir := t.TempDir()
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logger := kafkaTestLogger(t)
	runner, err := pipeline.NewLive(pipeline.LiveOptions{
		Store:   st,
		Streams: []pipeline.StreamSource{{Name: kafkaSource, InputFormat: "azure", Redelivers: true}},
		Logger:  logger,
		// Old records: the wall clock must not move the engine past them.
		TickEvery: -1,
		IdleFlush: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stopRunner := context.WithCancel(ctx)
	// stop is closed when the pipeline returns (early, or once stopped).
	stop := make(chan struct{})
	var runnerErr error
	runnerExited := make(chan struct{})
	go func() {
		runnerErr = runner.Run(runCtx)
		close(runnerExited)
		close(stop)
	}()
	defer func() {
		// On an early return too: the pipeline's final write is done
		// before the store is closed.
		stopRunner()
		select {
		case <-runnerExited:
		case <-time.After(30 * time.Second):
			t.Error("the pipeline did not stop")
		}
		st.Close()
	}()

	var memberCtx [2]context.Context
	var memberCancel [2]context.CancelFunc
	for i := range memberCtx {
		memberCtx[i], memberCancel[i] = context.WithCancel(ctx)
		defer memberCancel[i]()
	}
	var memberIDs [2]string // set before anything is produced
	fl := &kafkaFeedLog{
		times:    map[string]int{},
		byMember: [2]map[string]bool{{}, {}},
		changed:  make(chan struct{}),
		killAt:   len(msgs) / 2,
		victim:   -1,
		killed:   make(chan struct{}),
	}
	fl.kill = func(member int) {
		deadMember.Store(memberIDs[member])
		memberCancel[member]()
	}
	clientIDs := [2]string{"vigil-a", "vigil-b"}
	var srcs [2]*kafka.Source
	var srcDone [2]chan error
	for i := range srcs {
		srcs[i], err = kafka.New(kafka.Options{
			Name: kafkaSource, Brokers: c.ListenAddrs(), Topics: []string{kafkaTopic}, Group: kafkaGroup,
			ClientID: clientIDs[i], RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond, Logger: logger,
			Committable: func(file string) (int64, bool) { return runner.Committable(kafkaSource, file) },
		}, fl.feed(runner, i))
		if err != nil {
			t.Fatal(err)
		}
		srcDone[i] = make(chan error, 1)
		go func() { srcDone[i] <- srcs[i].Run(memberCtx[i]) }()
	}
	// Wait until the two members share the partitions.
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	gi, err := c.WaitGroupInfo(wctx, kafkaGroup, func(g *kfake.GroupInfo) bool {
		return g != nil && g.State == "Stable" && len(g.Members) == 2 && g.NumAssigned() == kafkaParts &&
			g.Members[0].NumAssigned() > 0 && g.Members[1].NumAssigned() > 0
	})
	wcancel()
	if err != nil {
		t.Fatalf("the group did not split the partitions between the two members: %+v: %v", gi, err)
	}
	var owned [2][]int32 // each member's partitions
	for _, m := range gi.Members {
		for i, id := range clientIDs {
			if m.ClientID == id {
				memberIDs[i] = m.MemberID
				owned[i] = slices.Sorted(slices.Values(m.Assignment[kafkaTopic]))
			}
		}
	}
	if memberIDs[0] == "" || memberIDs[1] == "" {
		t.Fatalf("members not found by client id: %+v", gi.Members)
	}
	fl.mu.Lock() // publishes memberIDs to the feeds (which read them under mu)
	fl.mu.Unlock()
	t.Logf("group stable after %v: %v", time.Since(start).Round(time.Millisecond), kafkaAssignments(gi))

	// Produce the messages one at a time, each once the previous one is
	// stored.
	//
	// Each resource gets a partition of its own while there are enough,
	// every record of a resource the same one: the partition of the key,
	// as with Event Hubs partition keys. The partitions are dealt to the
	// resources in turn from one member's and the other's, so that both
	// members have records to feed before the kill (the key hash could
	// put the three big resources on one member's partitions).
	var deal []int32
	for j := range max(len(owned[0]), len(owned[1])) {
		for i := range owned {
			if j < len(owned[i]) {
				deal = append(deal, owned[i][j])
			}
		}
	}
	partOf := map[string]int32{}
	for _, m := range msgs {
		if _, ok := partOf[m.key]; !ok {
			partOf[m.key] = deal[len(partOf)%len(deal)]
		}
	}
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(kafkaTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	produced := map[string]bool{}
	perPart := map[int32]int{}
	var redelivered map[string]bool
	var victimErr error
	survivor := -1
	for i, m := range msgs {
		r := &kgo.Record{Key: []byte(m.key), Value: m.body, Partition: partOf[m.key]}
		if err := pr.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce message %d: %v", i, err)
		}
		k := kafkaRecordKey(r.Partition, r.Offset)
		produced[k] = true
		perPart[r.Partition]++
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		err := fl.wait(wctx, stop, func() bool { return fl.times[k] > 0 })
		wcancel()
		if err != nil {
			t.Fatalf("message %d (%s) not stored: %v; fed: %v", i, k, err, fl.summary())
		}
		if redelivered != nil {
			continue
		}
		select {
		case <-fl.killed:
		default:
			continue
		}
		// The kill: wait for the victim to stop, then for the survivor to
		// get what the victim stored but did not commit.
		fl.mu.Lock()
		victim := fl.victim
		fl.mu.Unlock()
		survivor = 1 - victim
		select {
		case victimErr = <-srcDone[victim]:
		case <-time.After(20 * time.Second):
			t.Fatal("the killed member did not stop")
		}
		commits := c.GroupInfo(kafkaGroup).Commits[kafkaTopic]
		redelivered = map[string]bool{}
		fl.mu.Lock()
		for k := range fl.byMember[victim] {
			var p int32
			var off int64
			fmt.Sscanf(k, "%d@%d", &p, &off)
			if off >= commits[p].Offset {
				redelivered[k] = true
			}
		}
		fl.mu.Unlock()
		t.Logf("member %s killed after %v: %s; %d records stored but not committed", clientIDs[victim],
			time.Since(start).Round(time.Millisecond), fl.summary(), len(redelivered))
		wctx, wcancel = context.WithTimeout(ctx, 20*time.Second)
		err = fl.wait(wctx, stop, func() bool {
			for k := range redelivered {
				if !fl.byMember[survivor][k] {
					return false
				}
			}
			return true
		})
		wcancel()
		if err != nil {
			t.Fatalf("the surviving member did not get the killed member's uncommitted records: %v; fed: %v; group: %v",
				err, fl.summary(), kafkaAssignments(c.GroupInfo(kafkaGroup)))
		}
		t.Logf("%s took over after %v", clientIDs[survivor], time.Since(start).Round(time.Millisecond))
	}
	if redelivered == nil {
		t.Fatal("no member was killed")
	}

	// Stop: the survivor (which commits and leaves), then the pipeline.
	memberCancel[survivor]()
	var survivorErr error
	select {
	case survivorErr = <-srcDone[survivor]:
	case <-time.After(20 * time.Second):
		t.Fatal("the surviving member did not stop")
	}
	// What the pipeline let the source commit: everything processed,
	// short of records whose events a parser still holds (a Cosmos request
	// waiting for its query statistics).
	committable := map[int32]int64{}
	for p := int32(0); p < kafkaParts; p++ {
		if v, ok := runner.Committable(kafkaSource, fmt.Sprintf("kafka:%s/%d", kafkaTopic, p)); ok {
			committable[p] = v + 1
		}
	}
	stopRunner()
	select {
	case <-runnerExited:
	case <-time.After(30 * time.Second):
		t.Fatal("the pipeline did not stop")
	}
	for i, err := range []error{victimErr, survivorErr, runnerErr} {
		if err != nil {
			t.Errorf("%s: %v", []string{"killed member", "surviving member", "pipeline"}[i], err)
		}
	}
	elapsed := time.Since(start)

	// Delivery: every record stored, the killed member's uncommitted ones
	// exactly twice, no other twice.
	fl.mu.Lock()
	var twice []string
	for k, n := range fl.times {
		if !produced[k] {
			t.Errorf("record %s fed but never produced", k)
		}
		switch {
		case n > 2 || n == 2 && !redelivered[k]:
			t.Errorf("record %s fed %d times", k, n)
		case n == 2:
			twice = append(twice, k)
		}
	}
	for k := range produced {
		if fl.times[k] == 0 {
			t.Errorf("record %s never fed", k)
		}
	}
	for k := range redelivered {
		if fl.times[k] != 2 {
			t.Errorf("record %s, stored but not committed by the killed member, fed %d times", k, fl.times[k])
		}
	}
	if len(redelivered) == 0 {
		t.Error("the kill lost no commit: nothing was delivered twice, the duplicate path is not exercised")
	}
	for k := range fl.victimEnd {
		if !redelivered[k] {
			t.Errorf("record %s of the killed member's last batch was committed", k)
		}
	}
	fl.mu.Unlock()
	summary := fl.summary()
	if lostCommits.Load() == 0 {
		t.Error("no commit of the killed member failed")
	}
	// Commits: exactly what the pipeline said was finished with; the rest
	// (held events, released at the pipeline's stop) is recorded in the
	// saved stream positions, so a restart would not process it twice.
	saved := map[string]int64{}
	if b, err := st.LoadState(context.Background(), pipeline.StreamsStateName); err != nil || json.Unmarshal(b, &saved) != nil {
		t.Errorf("saved stream positions: %v", err)
	}
	for p := int32(0); p < kafkaParts; p++ {
		gc := c.GroupInfo(kafkaGroup).Commits[kafkaTopic][p]
		if gc.Offset != committable[p] || int(gc.Offset) > perPart[p] {
			t.Errorf("partition %d: committed %d, the pipeline allowed %d, produced %d", p, gc.Offset, committable[p], perPart[p])
		}
		if v := saved[kafkaSource+"\x00"+fmt.Sprintf("kafka:%s/%d", kafkaTopic, p)]; perPart[p] > 0 && int(v) != perPart[p]-1 {
			t.Errorf("partition %d: saved position %d after the stop, want %d", p, v, perPart[p]-1)
		}
	}

	// Events: those of the replay, each exactly once.
	evs, err := st.SearchEvents(context.Background(), store.EventFilter{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ev := range evs {
		got[kafkaEventKey(ev)]++
	}
	var missing, doubled []string
	for k, n := range want {
		if got[k] < n {
			missing = append(missing, k)
		}
	}
	for k, n := range got {
		if n > want[k] {
			doubled = append(doubled, fmt.Sprintf("%s (%d times, replay %d)", k, n, want[k]))
		}
	}
	sort.Strings(missing)
	sort.Strings(doubled)
	if len(missing) > 0 || len(doubled) > 0 || len(evs) != replayEvents {
		t.Errorf("the store holds %d events, a replay of the records gives %d: %d missing (%.600s), %d more often than in the replay (%.600s)",
			len(evs), replayEvents, len(missing), strings.Join(missing, " ; "), len(doubled), strings.Join(doubled, " ; "))
	}

	// Alerts: those of the replay, each once, with the same counts.
	stored, err := st.ListAlerts(context.Background(), store.AlertFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var storedAlerts []*event.Alert
	for _, a := range stored {
		storedAlerts = append(storedAlerts, &a.Alert)
	}
	have, wantAlerts := kafkaAlertCounts(storedAlerts), kafkaAlertCounts(res.Alerts)
	for _, k := range slices.Sorted(maps.Keys(wantAlerts)) {
		if !slices.Equal(have[k], wantAlerts[k]) {
			t.Errorf("alert %s: stored with counts %v, the replay raises it with %v", k, have[k], wantAlerts[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := wantAlerts[k]; !ok {
			t.Errorf("alert %s (counts %v) stored, the replay does not raise it", k, have[k])
		}
	}
	if len(stored) != len(res.Alerts) {
		t.Errorf("%d alerts stored, the replay raises %d", len(stored), len(res.Alerts))
	}
	if t.Failed() {
		for _, a := range res.Alerts {
			t.Logf("replay alert: %s count=%d", kafkaAlertKey(a), a.Count)
		}
		for _, a := range storedAlerts {
			t.Logf("stored alert: %s count=%d", kafkaAlertKey(a), a.Count)
		}
	}
	sort.Strings(twice)
	t.Logf("%d Azure records in %d messages over %d partitions %v; fed %s; delivered twice %d %v; %d commits refused; "+
		"%d events stored (replay %d); %d alerts stored (replay %d); %v",
		nrec, len(msgs), len(perPart), perPart, summary, len(twice), twice, lostCommits.Load(),
		len(evs), replayEvents, len(stored), len(res.Alerts), elapsed.Round(time.Millisecond))
}

// summary says what each member fed.
func (f *kafkaFeedLog) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("member a %d records in %d batches, member b %d in %d, %d distinct",
		f.records[0], f.batches[0], f.records[1], f.batches[1], len(f.times))
}

func kafkaAssignments(g *kfake.GroupInfo) string {
	if g == nil {
		return "no group"
	}
	var parts []string
	for _, m := range g.Members {
		parts = append(parts, fmt.Sprintf("%s:%v", m.ClientID, m.Assignment))
	}
	return g.State + " " + strings.Join(parts, " ")
}
