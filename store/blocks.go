package store

// The audit trail is stored in blocks: the events of one write that fall
// in one time bucket, as compressed NDJSON in one row of event_blocks.
//
// Why not a row per event (schema 1 and 2 did that): at 10,000 events per
// second the per-row b-tree inserts — the table, a unique (time, source,
// id) index and the user and client indexes, each dirtying a 4 KiB page
// that SQLite writes to the WAL and again to the file — cost the daemon
// ~20 µs of CPU per event, more than parsing, classifying and detecting
// together. A block costs one row, whatever its size. The dedup promise (a
// re-read line is not stored twice) is kept by the block itself: it lists
// the (time, id hash) of its events, and a write first reads the lists of
// the blocks whose times overlap its own — normally the last one or two.
//
// Searching: time buckets (bucketNanos wide) partition time, so a search
// reads buckets in order, sorts the matches of one bucket, and stops when
// it has enough. Searches by user or client first ask event_keys, which
// lists the buckets each user and client appears in (one row per key and
// bucket, written the first time the pair is seen, so almost never), and
// skip the blocks whose key list does not name them before decompressing.

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"

	"github.com/vigildb/vigil/event"
)

// bucketNanos is the width of a time bucket: 10 s. A block never spans two
// buckets. Narrower buckets make searches by user or client read fewer
// events that are not theirs; wider ones write fewer event_keys rows.
const bucketNanos = int64(10e9)

// maxBlockEvents caps the events in one block, so that reading one event
// never means decompressing much more than a few hundred.
const maxBlockEvents = 512

// maxKeyValue bounds the value in an event_keys row; longer user names
// and addresses (a log line can hold anything) are cut, the same way when
// written and when searched.
const maxKeyValue = 256

func bucketOf(ts int64) int64 {
	b := ts / bucketNanos
	if ts < 0 && ts%bucketNanos != 0 {
		b-- // floor, for times before 1970
	}
	return b
}

// Entity keys: "u:" user.name, "c:" client.address, "s:" session.id. Only
// users and clients are in event_keys; sessions are in the blocks' key
// lists, which lets a search by session skip blocks without it.
func userKey(v string) string    { return entityKey("u:", v) }
func clientKey(v string) string  { return entityKey("c:", v) }
func sessionKey(v string) string { return entityKey("s:", v) }

// entityKey is prefix and v, cut to maxKeyValue bytes at a character
// boundary, with invalid UTF-8 bytes replaced as encoding/json replaces
// them (the keys reach SQLite as JSON), so that writer and searcher agree.
func entityKey(prefix, v string) string {
	v = jsonString(v)
	if len(v) > maxKeyValue {
		cut := maxKeyValue
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut]
	}
	return prefix + v
}

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
)

// idHash is the dedup hash of an event: its source and id, as stored (see
// jsonString), the source's length first so that no two pairs run
// together. Two events of the same time whose (source, id) hash alike would
// be taken for one; with 64 bits and ids unique per source, that does not
// happen in practice.
func idHash(source, id string) int64 {
	source, id = jsonString(source), jsonString(id)
	h := fnv.New64a()
	h.Write(binary.AppendUvarint(nil, uint64(len(source))))
	h.Write([]byte(source))
	h.Write([]byte(id))
	return int64(h.Sum64())
}

// jsonString is s as it reads back from the stored JSON: encoding/json
// replaces each invalid UTF-8 byte with U+FFFD. Hashing and keying the
// stored form makes a write, a block rewritten by a prune and a migrated
// event agree.
func jsonString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// pending is one event on its way into a block.
type pending struct {
	ev   *event.Event
	ts   int64
	json []byte
	hash int64 // 0: no id, never deduplicated
}

// block is the events of one bucket from one write.
type block struct {
	bucket int64
	events []pending
}

// encodeBlocks encodes events and groups them into blocks: sorted by time
// (stably: equal times keep their order), cut at bucket boundaries and at
// maxBlockEvents.
func encodeBlocks(events []*event.Event) ([]block, error) {
	ps := make([]pending, len(events))
	for i, ev := range events {
		if ev == nil {
			return nil, fmt.Errorf("event %d is nil", i)
		}
		if _, off := ev.Time.Zone(); off%60 != 0 {
			// JSON times keep whole-minute offsets only (LMT zones have
			// seconds): store the instant in UTC, as it will read back.
			cp := *ev
			cp.Time = ev.Time.UTC()
			ev = &cp
		}
		j, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode event %q: %w", ev.ID, err)
		}
		ps[i] = pending{ev: ev, ts: nanos(ev.Time), json: j}
		if ev.ID != "" {
			ps[i].hash = idHash(ev.Source.Name, ev.ID)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].ts < ps[j].ts })
	var out []block
	for i := 0; i < len(ps); {
		b := bucketOf(ps[i].ts)
		j := i + 1
		for j < len(ps) && j-i < maxBlockEvents && bucketOf(ps[j].ts) == b {
			j++
		}
		out = append(out, block{bucket: b, events: ps[i:j]})
		i = j
	}
	return out, nil
}

// row is what event_blocks stores for b's events.
type blockRow struct {
	minTS, maxTS int64
	ids          []byte // (time, id hash) of each event with an id, 16 bytes little-endian
	keys         []byte // "\x00k1\x00k2\x00...\x00": every distinct entity key
	body         []byte // zstd of the events' JSON, one per line
	indexKeys    []string
}

func (b block) row() blockRow {
	r := blockRow{minTS: b.events[0].ts, maxTS: b.events[len(b.events)-1].ts}
	seen := map[string]bool{}
	add := func(k string, indexed bool) {
		if len(k) == 2 || seen[k] {
			return
		}
		seen[k] = true
		if indexed {
			r.indexKeys = append(r.indexKeys, k)
		}
	}
	size := 0
	r.ids = make([]byte, 0, 16*len(b.events))
	for _, p := range b.events {
		if p.hash != 0 {
			r.ids = binary.LittleEndian.AppendUint64(r.ids, uint64(p.ts))
			r.ids = binary.LittleEndian.AppendUint64(r.ids, uint64(p.hash))
		}
		add(userKey(p.ev.User.Name), true)
		add(clientKey(p.ev.Client.Address), true)
		add(sessionKey(p.ev.Session.ID), false)
		size += len(p.json) + 1
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	r.keys = append(r.keys, 0)
	for _, k := range keys {
		r.keys = append(r.keys, k...)
		r.keys = append(r.keys, 0)
	}
	raw := make([]byte, 0, size)
	for _, p := range b.events {
		raw = append(raw, p.json...)
		raw = append(raw, '\n')
	}
	r.body = zenc.EncodeAll(raw, make([]byte, 0, size/4))
	slices.Sort(r.indexKeys)
	return r
}

// hasKey reports whether a block's key list names k.
func hasKey(keys []byte, k string) bool {
	var b [2 + maxKeyValue + 2]byte
	n := copy(b[1:], k)
	return bytes.Contains(keys, b[:n+2])
}

// insertBlocks stores blocks in tx, leaving out events whose (time, id
// hash) is already stored, and returns how many events it stored.
func insertBlocks(ctx context.Context, tx wtx, blocks []block) (int64, error) {
	return insertBlocksDedup(ctx, tx, blocks, true)
}

// insertBlocksDedup is insertBlocks; without dedup every event is stored
// (the rows of an older store, already unique).
func insertBlocksDedup(ctx context.Context, tx wtx, blocks []block, dedup bool) (int64, error) {
	var stored int64
	for _, b := range blocks {
		kept := b.events
		if dedup {
			var err error
			if kept, err = newEvents(ctx, tx, b); err != nil {
				return stored, err
			}
		}
		if len(kept) == 0 {
			continue
		}
		b.events = kept
		r := b.row()
		if _, err := tx.ExecContext(ctx, insertBlockSQL, b.bucket, r.minTS, r.maxTS, len(kept), r.ids, r.keys, r.body); err != nil {
			return stored, fmt.Errorf("events %q to %q: %w", kept[0].ev.ID, kept[len(kept)-1].ev.ID, err)
		}
		if len(r.indexKeys) > 0 {
			// Almost always already there: lookups, no page written.
			keys, err := json.Marshal(r.indexKeys)
			if err != nil {
				return stored, fmt.Errorf("event keys: %w", err)
			}
			if _, err := tx.ExecContext(ctx, insertKeysSQL, b.bucket, string(keys)); err != nil {
				return stored, fmt.Errorf("event keys: %w", err)
			}
		}
		stored += int64(len(kept))
	}
	if stored > 0 {
		if _, err := tx.ExecContext(ctx, addCountSQL, stored); err != nil {
			return stored, fmt.Errorf("event count: %w", err)
		}
	}
	return stored, nil
}

const (
	insertBlockSQL = `INSERT INTO event_blocks (bucket, min_ts, max_ts, n, ids, keys, body) VALUES (?, ?, ?, ?, ?, ?, ?)`
	insertKeysSQL  = `INSERT OR IGNORE INTO event_keys (k, bucket) SELECT value, ? FROM json_each(?)`
	addCountSQL    = `UPDATE event_count SET n = n + ? WHERE id = 1`
	// The blocks a stored copy of an event of b could be in: same bucket,
	// overlapping times. Normally the last block or two of a stream.
	overlapSQL = `SELECT ids FROM event_blocks WHERE bucket = ? AND max_ts >= ? AND min_ts <= ?`
)

type idKey struct{ ts, hash int64 }

// newEvents returns the events of b that are not stored yet: events
// without an id, and those whose (time, id hash) no overlapping block of
// the same bucket lists (nor an earlier event of b).
func newEvents(ctx context.Context, tx wtx, b block) ([]pending, error) {
	lo, hi := b.events[0].ts, b.events[len(b.events)-1].ts
	seen := map[idKey]bool{}
	rows, err := tx.QueryContext(ctx, overlapSQL, b.bucket, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("event ids: %w", err)
	}
	for rows.Next() {
		var ids []byte
		if err := rows.Scan(&ids); err != nil {
			rows.Close()
			return nil, fmt.Errorf("event ids: %w", err)
		}
		for i := 0; i+16 <= len(ids); i += 16 {
			k := idKey{int64(binary.LittleEndian.Uint64(ids[i:])), int64(binary.LittleEndian.Uint64(ids[i+8:]))}
			if lo <= k.ts && k.ts <= hi {
				seen[k] = true
			}
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("event ids: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event ids: %w", err)
	}
	kept := b.events[:0:0]
	for _, p := range b.events {
		if p.hash != 0 {
			k := idKey{p.ts, p.hash}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		kept = append(kept, p)
	}
	return kept, nil
}

// decodeBlock returns the events of a stored block body, in stored order,
// decompressed into buf (reused: the lines are valid until the next call
// with the same buf).
func decodeBlock(body []byte, buf *[]byte) ([][]byte, error) {
	raw, err := zdec.DecodeAll(body, (*buf)[:0])
	if err != nil {
		return nil, fmt.Errorf("decompress event block: %w", err)
	}
	*buf = raw
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte{'\n'}), []byte{'\n'})
	return lines, nil
}

// scanQuery is a search over the blocks.
type scanQuery struct {
	lo, hi int64    // lo <= time <= hi
	keys   []string // the buckets to read are those of any of these keys (event_keys); nil: every bucket
	block  func(keys []byte) bool
	match  func(*event.Event) bool
	desc   bool
	limit  int
	line   lineFilter // checked on an event's JSON before decoding it
}

// lineFilter is what the JSON of a matching event must contain: every one
// of all, one of any (if any), and fold, case-insensitively (ASCII). It
// never rejects a match (see needle); it spares decoding most of the rest.
type lineFilter struct {
	all, any [][]byte
	fold     []byte // lower case
}

// needle is what the JSON of an event holds when one of its string fields
// equals v: v encoded as a JSON string, quotes included. encoding/json
// escapes character by character, so the encoded value contains the
// encoding of any part of it: quote is false for a substring needle.
func needle(v string, quote bool) []byte {
	// encoding/json writes U+FFFD from an invalid byte as the escape
	// \ufffd but a U+FFFD in valid text as itself: no telling which.
	b, err := json.Marshal(v)
	if err != nil || !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError) {
		return nil
	}
	if !quote {
		b = b[1 : len(b)-1]
	}
	return b
}

func (f *lineFilter) ok(line []byte) bool {
	for _, n := range f.all {
		if !bytes.Contains(line, n) {
			return false
		}
	}
	if len(f.any) > 0 {
		found := false
		for _, n := range f.any {
			if bytes.Contains(line, n) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return len(f.fold) == 0 || containsFold(line, f.fold)
}

// containsFold reports whether s contains lower, ignoring ASCII case.
func containsFold(s, lower []byte) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		j := 0
		for ; j < len(lower); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

// hit is a matching event and where it sorts.
type hit struct {
	ev    *event.Event
	ts    int64
	block int64
	idx   int
}

// sort orders hits by (time, block, position in block), which is the
// order of insertion among equal times; descending reverses it.
func (q scanQuery) sort(hits []hit) {
	slices.SortFunc(hits, func(a, b hit) int {
		c := cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.block, b.block), cmp.Compare(a.idx, b.idx))
		if q.desc {
			return -c
		}
		return c
	})
}

// scan runs q on the read pool: bucket by bucket, in time order.
func (s *Store) scan(ctx context.Context, q scanQuery) ([]*event.Event, error) {
	if q.limit <= 0 {
		q.limit = DefaultLimit
	}
	if q.lo > q.hi {
		return nil, nil
	}
	buckets := s.bucketIter(q)
	var out []*event.Event
	for len(out) < q.limit {
		b, ok, err := buckets(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		hits, err := s.scanBucket(ctx, q, b, q.limit-len(out))
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			out = append(out, h.ev)
		}
	}
	return out, nil
}

// bucketIter returns the buckets q reads, one per call, in q's order.
func (s *Store) bucketIter(q scanQuery) func(context.Context) (int64, bool, error) {
	loB, hiB := bucketOf(q.lo), bucketOf(q.hi)
	if q.keys == nil {
		// The next bucket that has blocks: one index probe each.
		cur, started := int64(0), false
		return func(ctx context.Context) (int64, bool, error) {
			var query string
			var args []any
			switch {
			case !q.desc && !started:
				query, args = `SELECT min(bucket) FROM event_blocks WHERE bucket >= ? AND bucket <= ?`, []any{loB, hiB}
			case !q.desc:
				query, args = `SELECT min(bucket) FROM event_blocks WHERE bucket > ? AND bucket <= ?`, []any{cur, hiB}
			case !started:
				query, args = `SELECT max(bucket) FROM event_blocks WHERE bucket >= ? AND bucket <= ?`, []any{loB, hiB}
			default:
				query, args = `SELECT max(bucket) FROM event_blocks WHERE bucket >= ? AND bucket < ?`, []any{loB, cur}
			}
			var b sql.NullInt64
			if err := s.r.QueryRowContext(ctx, query, args...).Scan(&b); err != nil {
				return 0, false, err
			}
			if !b.Valid {
				return 0, false, nil
			}
			cur, started = b.Int64, true
			return cur, true, nil
		}
	}
	// The union of the keys' buckets, fetched a page at a time.
	const page = 512
	var buf []int64
	from, to := loB, hiB // the range not yet fetched
	done := false
	return func(ctx context.Context) (int64, bool, error) {
		if len(buf) == 0 && !done {
			set := map[int64]bool{}
			for _, k := range q.keys {
				query := `SELECT bucket FROM event_keys WHERE k = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket LIMIT ?`
				if q.desc {
					query = `SELECT bucket FROM event_keys WHERE k = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket DESC LIMIT ?`
				}
				rows, err := s.r.QueryContext(ctx, query, k, from, to, page)
				if err != nil {
					return 0, false, err
				}
				for rows.Next() {
					var b int64
					if err := rows.Scan(&b); err != nil {
						rows.Close()
						return 0, false, err
					}
					set[b] = true
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return 0, false, err
				}
			}
			for b := range set {
				buf = append(buf, b)
			}
			slices.Sort(buf)
			if q.desc {
				slices.Reverse(buf)
			}
			// Every key returned its first page of the range, so the first
			// page of the union is exact; the rest is fetched again later.
			if len(buf) > page {
				buf = buf[:page]
			}
			if len(buf) < page {
				done = true
			} else if q.desc {
				to = buf[len(buf)-1] - 1
			} else {
				from = buf[len(buf)-1] + 1
			}
		}
		if len(buf) == 0 {
			return 0, false, nil
		}
		b := buf[0]
		buf = buf[1:]
		return b, true, nil
	}
}

type blockHead struct {
	id           int64
	minTS, maxTS int64
	keys         []byte
}

// scanBucket returns at most need matches of q in bucket b, sorted. It
// reads the bucket's blocks from the earliest (latest, when descending)
// and stops once no block left can hold an event that sorts before the
// need-th match.
func (s *Store) scanBucket(ctx context.Context, q scanQuery, b int64, need int) ([]hit, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, min_ts, max_ts, keys FROM event_blocks WHERE bucket = ? AND max_ts >= ? AND min_ts <= ?`, b, q.lo, q.hi)
	if err != nil {
		return nil, err
	}
	var heads []blockHead
	for rows.Next() {
		var h blockHead
		if err := rows.Scan(&h.id, &h.minTS, &h.maxTS, &h.keys); err != nil {
			rows.Close()
			return nil, err
		}
		if q.block == nil || q.block(h.keys) {
			heads = append(heads, h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(heads, func(a, b blockHead) int {
		if q.desc {
			return cmp.Or(cmp.Compare(b.maxTS, a.maxTS), cmp.Compare(b.id, a.id))
		}
		return cmp.Or(cmp.Compare(a.minTS, b.minTS), cmp.Compare(a.id, b.id))
	})
	var hits []hit
	var buf []byte // decompressed blocks; events decoded from it copy what they keep
	for _, h := range heads {
		if len(hits) >= need {
			q.sort(hits)
			hits = hits[:need]
			last := hits[need-1].ts
			if !q.desc && h.minTS > last || q.desc && h.maxTS < last {
				break
			}
		}
		var body []byte
		if err := s.r.QueryRowContext(ctx, `SELECT body FROM event_blocks WHERE id = ?`, h.id).Scan(&body); err != nil {
			if isNoRows(err) {
				continue // pruned meanwhile
			}
			return nil, err
		}
		lines, err := decodeBlock(body, &buf)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", h.id, err)
		}
		for j, line := range lines {
			if !q.line.ok(line) {
				continue
			}
			ev := new(event.Event)
			if err := json.Unmarshal(line, ev); err != nil {
				return nil, fmt.Errorf("decode stored event (block %d, line %d): %w", h.id, j+1, err)
			}
			ts := nanos(ev.Time)
			if ts < q.lo || ts > q.hi || q.match != nil && !q.match(ev) {
				continue
			}
			hits = append(hits, hit{ev: ev, ts: ts, block: h.id, idx: j})
		}
	}
	q.sort(hits)
	if len(hits) > need {
		hits = hits[:need]
	}
	return hits, nil
}
