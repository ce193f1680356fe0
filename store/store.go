// Package store is Vigil's embedded store: one SQLite file, dir/vigil.db,
// that holds the audit trail (masked events, in compressed blocks: see
// blocks.go), the alerts with their evidence and status history, the
// sources' checkpoints and the detection engine's state. Nothing to install: the driver is modernc.org/sqlite, a
// pure-Go translation of SQLite, so the binary stays cgo-free.
//
// Why SQLite (research/deps.md §5): alerts, baselines and the CLI/API need
// ad-hoc filters, which SQL gives for free, and one transaction holds the
// events, the checkpoints they came from and the state they updated.
//
// Concurrency: the file is in WAL mode, so readers never block the writer
// and the writer never blocks readers. Several processes may open the same
// directory at once — typically `vigil run` writing and the `vigil alerts` /
// `vigil events` CLI reading or acknowledging alerts. Writers are serialized
// by SQLite's lock; every write transaction starts with BEGIN IMMEDIATE and
// the connections wait up to Options.BusyTimeout for the lock instead of
// failing at once with SQLITE_BUSY.
//
// Durability: synchronous=NORMAL. In WAL mode a power loss may lose the
// last few committed transactions, never corrupt the file; because events
// and the checkpoints of the offsets they came from are written in the same
// transaction (AppendEvents), such a loss rolls both back together and the
// sources re-read the lines. Duplicates are then suppressed by the unique
// key (time, hash of source and event id), so nothing is lost and nothing
// is stored twice. Events are stored in compressed blocks (blocks.go).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the name of the database file inside the data directory.
const FileName = "vigil.db"

// ErrNotFound is returned (wrapped) when an alert or a saved state does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrDiskFull is returned (wrapped) when SQLite could not write because the
// file system (or SQLite's max_page_count) is full. The transaction was
// rolled back entirely; the caller may retry the same batch later: Write
// and AppendEvents are idempotent.
var ErrDiskFull = errors.New("store: disk full")

// Options tunes Open. The zero value is what `vigil run` and the CLI use.
type Options struct {
	// BusyTimeout is how long a statement waits for another process's lock
	// before failing. Default 10s: long enough to ride out a Prune chunk or
	// a large batch of the daemon.
	BusyTimeout time.Duration
	// Readers is the number of read connections (default 4). Reads run on
	// their own pool so that a search does not wait for the writer.
	Readers int
}

// Store is an open store. Its methods are safe for concurrent use.
type Store struct {
	path  string
	w     *sql.DB  // one connection: all writes, in BEGIN IMMEDIATE transactions
	r     *sql.DB  // read-only connections (query_only)
	stmts sync.Map // query -> *sql.Stmt prepared on w (see wtx)
}

// wtx is a write transaction whose ExecContext runs statements prepared
// once per store: the daemon writes a small batch many times a second, and
// compiling its INSERTs each time cost a tenth of its CPU.
type wtx struct {
	*sql.Tx
	s *Store
}

func (t wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := t.s.prepared(query)
	if !ok {
		return t.Tx.ExecContext(ctx, query, args...)
	}
	return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (t wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, ok := t.s.prepared(query)
	if !ok {
		return t.Tx.QueryContext(ctx, query, args...)
	}
	return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

// prepared returns the statement for query if it was prepared when the
// store was opened (prepare); others run unprepared. Preparing inside a
// transaction is not possible: the writer has one connection, held by it.
func (s *Store) prepared(query string) (*sql.Stmt, bool) {
	st, ok := s.stmts.Load(query)
	if !ok {
		return nil, false
	}
	return st.(*sql.Stmt), true
}

// prepare compiles the statements every batch runs.
func (s *Store) prepare(ctx context.Context) error {
	for _, q := range []string{overlapSQL, insertBlockSQL, insertKeysSQL, addCountSQL, saveCheckpointSQL, saveStateSQL} {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", wrapErr(err))
		}
		s.stmts.Store(q, st)
	}
	return nil
}

// Open opens the store in dir, creating the directory, the file and the
// schema as needed, and migrating an older schema to the current one.
func Open(dir string, opts Options) (*Store, error) {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	// Two processes opening a brand-new store at once (the daemon, and the
	// CLI an operator runs) can meet SQLITE_BUSY while one of them switches
	// the file to WAL mode: SQLite reports that at once instead of waiting
	// for busy_timeout. Such an open is retried until the timeout.
	deadline := time.Now().Add(opts.BusyTimeout)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		s, err := openOnce(dir, opts)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return s, err
		}
		time.Sleep(wait)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

func openOnce(dir string, opts Options) (*Store, error) {
	path := filepath.Join(dir, FileName)
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)

	// auto_vacuum must be chosen before the first table exists; INCREMENTAL
	// lets Prune give freed pages back to the file system.
	wq := url.Values{}
	wq.Set("_busy_timeout", busy)
	wq.Set("_auto_vacuum", "INCREMENTAL")
	wq.Set("_journal_mode", "WAL")
	wq.Set("_synchronous", "NORMAL")
	wq.Set("_foreign_keys", "1")
	wq.Set("_txlock", "immediate")
	// The writer's page cache holds the pages a batch dirties (the table's
	// last pages plus leaves all over the entity indexes); SQLite's 2 MB
	// default spills them to the WAL mid-transaction and rewrites them,
	// which cost 20% of AppendEvents' time. Checkpointing every 16 MB of
	// WAL rather than 4 MB copies a page once for several batches;
	// journal_size_limit then trims the WAL file back after a checkpoint.
	wq.Add("_pragma", "cache_size(-32768)")
	wq.Add("_pragma", "wal_autocheckpoint(4000)")
	wq.Add("_pragma", "journal_size_limit(67108864)")
	w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// One writer connection: SQLite allows one writer at a time anyway, and
	// queueing in database/sql is cheaper than spinning on SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{path: path, w: w}
	if err := s.migrate(context.Background()); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepare(context.Background()); err != nil {
		w.Close()
		return nil, err
	}

	rq := url.Values{}
	rq.Set("_busy_timeout", busy)
	rq.Set("_foreign_keys", "1")
	rq.Set("_query_only", "1")
	r, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	if err := r.Ping(); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, wrapErr(err))
	}
	s.r = r
	return s, nil
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes the store. A clean close checkpoints the WAL into the main file.
func (s *Store) Close() error {
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	errR := s.r.Close()
	errW := s.w.Close()
	if err := errors.Join(errR, errW); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// writeTx runs fn in one write transaction (BEGIN IMMEDIATE) and commits it,
// or rolls it back if fn or the commit fails.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return wrapErr(err)
	}
	if err := tx.Commit(); err != nil {
		return wrapErr(err)
	}
	return nil
}

// wrapErr turns a full disk (SQLITE_FULL, ENOSPC) into ErrDiskFull so that
// callers can tell "retry later" from a bug.
func wrapErr(err error) error {
	if err == nil || errors.Is(err, ErrDiskFull) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL || errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}

// opErr adds what was being done to err. A full disk keeps "store: disk
// full" at the front, where an operator reading the log sees it first, and
// says that nothing of the operation was kept.
func opErr(op string, err error) error {
	if errors.Is(err, ErrDiskFull) {
		return fmt.Errorf("%w; %s was rolled back: free space or lower the retention limits, then retry", err, op)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// nanos is t as unix nanoseconds; the zero time (unknown) is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
