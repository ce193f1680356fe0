// Package pipeline wires the stages together: sources -> parse -> enrich
// (classify, mask) -> detect -> alerts. Replay and the live daemon run the
// same pipeline fed from different sources, and time is always the events'
// own time, so a replay of old logs raises what the live system would have.
//
// Concurrency: one goroutine reads and parses (parsers are stateful and
// order-sensitive), a pool of workers classifies batches of events (the
// expensive, stateless part), and the detection engine consumes the batches
// in their original order.
package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// Options configure a pipeline run.
type Options struct {
	InputFormat   string    // "" (auto-detect), "stderr", "csvlog", "jsonlog", "events" (NDJSON events)
	LogLinePrefix string    // stderr log_line_prefix as written in postgresql.conf; "" = auto-detect
	RulePaths     []string  // user rule files or directories, loaded after the built-in pack
	LearnUntil    time.Time // end of first-seen learning periods; zero = each rule's own period
	ServerAddress string    // server.address to stamp on events that lack one
	SourceName    string    // source.name to stamp on events; default "replay"
	// Location is the time zone of timestamps the logs write without one
	// (MariaDB server_audit, MySQL general and error logs, PostgreSQL zone
	// abbreviations it does not know); nil means UTC.
	Location *time.Location
	// Workers classifying statements; 0 = GOMAXPROCS.
	Workers int
	// OnEvent, when set, sees every event after enrichment (masked), in order.
	OnEvent func(*event.Event)
	// Progress, when set, is called now and then with bytes read so far.
	Progress func(read int64)
	// MaxUnparsed bounds Result.Unparsed (default 20); all are counted.
	MaxUnparsed int
}

// Input is one thing to replay: a named reader.
type Input struct {
	Name string
	R    io.Reader
	Size int64 // -1 when unknown
}

// Unparsed is a line no parser understood.
type Unparsed struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

// Result summarizes a replay.
type Result struct {
	Lines         int64
	Bytes         int64
	Events        int64
	Alerts        []*event.Alert // final state of every alert, ordered by first time
	UnparsedCount int64
	Unparsed      []Unparsed // the first ones (bounded by Options.MaxUnparsed)
	Format        string     // the format of the last input (as detected or given)
	Prefix        string     // the stderr log_line_prefix used, if any
}

const batchSize = 256

type batch struct {
	events []*event.Event
	done   chan struct{}
}

// Replay runs inputs (in order) through the whole pipeline and returns the
// alerts in their final state. Parser state carries across inputs, so the
// rotated files of one server can be given oldest first.
func Replay(ctx context.Context, opts Options, inputs ...Input) (*Result, error) {
	rs, err := LoadRules(opts.RulePaths)
	if err != nil {
		return nil, err
	}
	return ReplayRules(ctx, rs, opts, inputs...)
}

// ReplayRules is Replay with an already loaded rule set (opts.RulePaths is
// ignored), for callers that replay many inputs against the same rules.
func ReplayRules(ctx context.Context, rs *Rules, opts Options, inputs ...Input) (*Result, error) {
	engine := newEngine(rs, opts)
	res := &Result{}
	if err := run(ctx, opts, engine, res, inputs); err != nil {
		return res, err
	}
	res.Alerts = engine.Alerts()
	sort.SliceStable(res.Alerts, func(i, j int) bool {
		if !res.Alerts[i].FirstTime.Equal(res.Alerts[j].FirstTime) {
			return res.Alerts[i].FirstTime.Before(res.Alerts[j].FirstTime)
		}
		return res.Alerts[i].RuleID < res.Alerts[j].RuleID
	})
	return res, nil
}

// run drives the three stages; it returns when every input is consumed,
// the context is cancelled, or reading fails.
func run(ctx context.Context, opts Options, eng detector, res *Result, inputs []Input) error {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxUnparsed <= 0 {
		opts.MaxUnparsed = 20
	}
	if opts.SourceName == "" {
		opts.SourceName = "replay"
	}
	cls := newClassifier()
	work := make(chan *batch, workers*2)
	ordered := make(chan *batch, workers*4)

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				for _, ev := range b.events {
					enrich(cls, ev, &opts)
				}
				close(b.done)
			}
		}()
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(work)
		readErr <- readAll(ctx, opts, res, inputs, func(b *batch) bool {
			select {
			case work <- b:
			case <-ctx.Done():
				return false
			}
			select {
			case ordered <- b:
			case <-ctx.Done():
				return false
			}
			return true
		})
	}()

	for b := range ordered {
		<-b.done
		for _, ev := range b.events {
			res.Events++
			if opts.OnEvent != nil {
				opts.OnEvent(ev)
			}
			eng.Process(ev)
		}
	}
	wg.Wait()
	eng.Flush()
	if err := <-readErr; err != nil {
		return err
	}
	return ctx.Err()
}

// enrich completes an event after parsing: source and server, then the
// statement classification (the parser has already masked every text).
func enrich(cls classifier, ev *event.Event, opts *Options) {
	if ev.Source.Name == "" {
		ev.Source.Name = opts.SourceName
	}
	if ev.Server.Address == "" {
		ev.Server.Address = opts.ServerAddress
	}
	switch {
	case ev.DB.Query.Text == "":
	case ev.SQL.Audit.StatementID != 0:
		classifyAudited(cls, ev)
	default:
		cls.Apply(ev)
	}
}

// readAll reads every input line by line, parses, and hands batches of
// events to send. Parser state persists across inputs of the same format.
func readAll(ctx context.Context, opts Options, res *Result, inputs []Input, send func(*batch) bool) error {
	cur := &batch{done: make(chan struct{})}
	emit := func(ev *event.Event) {
		cur.events = append(cur.events, ev)
	}
	flush := func() bool {
		if len(cur.events) == 0 {
			return true
		}
		b := cur
		cur = &batch{events: make([]*event.Event, 0, batchSize), done: make(chan struct{})}
		return send(b)
	}
	var (
		p       parse.Parser
		pFormat string
		pPrefix string
		read    int64
	)
	for _, in := range inputs {
		br, ok := in.R.(*bufio.Reader)
		if !ok || br.Size() < 1<<16 {
			br = bufio.NewReaderSize(in.R, 1<<20)
		}
		head, _ := br.Peek(64 << 10)
		format, prefix, err := detectFormat(head, opts.InputFormat, opts.LogLinePrefix)
		if err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
		if p == nil || format != pFormat || prefix != pPrefix {
			if p != nil {
				p.Flush(emit)
			}
			np, err := newParser(format, prefix, opts.Location)
			if err != nil {
				return fmt.Errorf("%s: %w", in.Name, err)
			}
			p, pFormat, pPrefix = np, format, prefix
		}
		res.Format, res.Prefix = format, prefix

		var lineNo, offset int64
		for {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				// A line longer than the buffer: assemble it.
				long := append([]byte(nil), line...)
				for errors.Is(err, bufio.ErrBufferFull) {
					line, err = br.ReadSlice('\n')
					long = append(long, line...)
				}
				line = long
			}
			if len(line) > 0 {
				n := int64(len(line))
				lineNo++
				text := bytes.TrimSuffix(line, []byte{'\n'})
				text = bytes.TrimSuffix(text, []byte{'\r'})
				if perr := p.Parse(parse.Line{Text: text, File: in.Name, Offset: offset, No: lineNo}, emit); perr != nil {
					res.UnparsedCount++
					if len(res.Unparsed) < opts.MaxUnparsed {
						res.Unparsed = append(res.Unparsed, Unparsed{File: in.Name, Line: lineNo, Reason: perr.Error()})
					}
				}
				offset += n
				read += n
				res.Lines++
				res.Bytes += n
				if len(cur.events) >= batchSize {
					if !flush() {
						return ctx.Err()
					}
					if opts.Progress != nil {
						opts.Progress(read)
					}
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("read %s: %w", in.Name, err)
			}
		}
	}
	if p != nil {
		p.Flush(emit)
	}
	if !flush() {
		return ctx.Err()
	}
	return nil
}
