package file

import "sync"

// Dedup remembers, per (source, file identity), the offset up to which
// lines were committed, so that lines delivered again after a restart (the
// tailer resumes from the last checkpoint it was given, which may be older
// than what the consumer committed) are recognised and skipped. Together
// with at-least-once delivery this gives each line exactly once.
//
// The zero value is ready to use; Dedup is safe for concurrent use.
type Dedup struct {
	mu sync.Mutex
	m  map[dedupKey]int64
}

type dedupKey struct {
	source string
	id     Identity
}

// Commit records that the lines of source's file cp.Identity before
// cp.Offset have been durably handled.
func (d *Dedup) Commit(source string, cp Checkpoint) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[dedupKey]int64{}
	}
	k := dedupKey{source, cp.Identity}
	if cp.Offset > d.m[k] {
		d.m[k] = cp.Offset
	}
}

// Delivered reports whether the line starting at offset in source's file id
// was already committed.
func (d *Dedup) Delivered(source string, id Identity, offset int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	off, ok := d.m[dedupKey{source, id}]
	return ok && offset < off
}

// Filter removes from b the lines already committed, in place, and returns
// how many it removed. Truncated indexes are renumbered.
func (d *Dedup) Filter(b *Batch) int {
	d.mu.Lock()
	off, ok := d.m[dedupKey{b.Source, b.Identity}]
	d.mu.Unlock()
	if !ok || len(b.Lines) == 0 || b.Lines[0].Offset >= off {
		return 0
	}
	cut := 0
	for cut < len(b.Lines) && b.Lines[cut].Offset < off {
		cut++
	}
	b.Lines = b.Lines[cut:]
	tr := b.Truncated[:0]
	for _, i := range b.Truncated {
		if i >= cut {
			tr = append(tr, i-cut)
		}
	}
	b.Truncated = tr
	return cut
}
