package file

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A writer appends lines and rotates the file now and then, alternating
// rename (with lines still written to the old fd afterwards) and
// copytruncate, while the tailer reads. Every line written is delivered
// exactly once.
func TestStressRotations(t *testing.T) { stress(t, -1) }

// The same, with the tailer stopped before one rotation of each kind and
// restarted from its checkpoints after it (the writer goes on meanwhile).
func TestStressRotationsWithRestarts(t *testing.T) { stress(t, 2, 3) }

func stress(t *testing.T, restartAt ...int) {
	total := 200_000
	if testing.Short() {
		total = 20_000
	}
	const rotations = 6
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	c := newCollector()
	opts := Options{Patterns: []string{filepath.Join(dir, "*.log")}, RotateGrace: time.Second, BatchLines: 512}
	h := start(t, c, opts)

	t0 := time.Now()
	w, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { w.Close() }()
	buf := make([]byte, 0, 64<<10)
	write := func(f *os.File, from, to int) {
		for i := from; i < to; i++ {
			buf = fmt.Appendf(buf, "line %07d some payload to make it longer\n", i)
			if len(buf) > 60<<10 {
				// Two writes cut mid-line: the tailer sees partial lines.
				cut := len(buf)/2 + i%17
				f.Write(buf[:cut])
				f.Write(buf[cut:])
				buf = buf[:0]
			}
		}
		f.Write(buf)
		buf = buf[:0]
	}
	per := total / (rotations + 1)
	next := 0
	for r := 0; r <= rotations; r++ {
		end := next + per
		if r == rotations {
			end = total
		}
		write(w, next, end)
		next = end
		if r == rotations {
			break
		}
		// Rotations are far apart in real life: wait until the tailer has
		// seen this file before rotating it.
		c.waitN(t, next-per/2)
		restart := slices.Contains(restartAt, r)
		if restart {
			h.stop()
			opts.Checkpoints = h.tl.Checkpoints()
		}
		if r%2 == 0 {
			if err := os.Rename(p, fmt.Sprintf("%s.%d", p, r)); err != nil {
				t.Fatal(err)
			}
			write(w, next, next+100) // the writer has not reopened yet
			next += 100
			w.Close()
			if w, err = os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			copyTruncate(t, p, fmt.Sprintf("%s.%d", p, r))
		}
		if restart {
			write(w, next, next+1000) // written while the tailer is down
			next += 1000
			h = start(t, c, opts)
		}
	}
	written := time.Since(t0)
	s := c.waitFor(t, fmt.Sprintf("%d lines", next), func(s []got) bool { return len(s) >= next })
	seen := make(map[string]int, len(s))
	for _, g := range s {
		seen[g.Text]++
	}
	for i := 0; i < next; i++ {
		k := fmt.Sprintf("line %07d some payload to make it longer", i)
		if seen[k] != 1 {
			t.Fatalf("%q delivered %d times", k, seen[k])
		}
	}
	if len(s) != next {
		t.Fatalf("%d lines delivered, %d written", len(s), next)
	}
	t.Logf("%d lines, %d rotations, restarts before %v: written in %v, all delivered after %v", next, rotations, restartAt, written, time.Since(t0))
}
