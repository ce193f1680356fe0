package file

import (
	"bytes"
	"compress/gzip"
	"errors"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// fingerprint hashes the first n bytes of r. It returns ok=false when fewer
// than n bytes could be read (the file shrank: it was truncated).
func fingerprint(r io.ReaderAt, n int) (uint64, bool) {
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, 0)
	if got < n {
		return 0, false
	}
	_ = err
	h := fnv.New64a()
	h.Write(buf)
	return h.Sum64(), true
}

// fingerprintOf sets id's fingerprint from the first bytes of f, which is
// size bytes long. An empty file gets no fingerprint yet (FPLen 0).
func fingerprintOf(f io.ReaderAt, size int64, id *Identity) {
	n := int(min(size, FingerprintSize))
	if n == 0 {
		id.Fingerprint, id.FPLen = 0, 0
		return
	}
	if fp, ok := fingerprint(f, n); ok {
		id.Fingerprint, id.FPLen = fp, n
	}
}

// sameContent reports whether f starts with the bytes id was fingerprinted
// from. An identity without a fingerprint matches any content.
func sameContent(f io.ReaderAt, id Identity) bool {
	if id.FPLen == 0 {
		return true
	}
	fp, ok := fingerprint(f, id.FPLen)
	return ok && fp == id.Fingerprint
}

var gzipMagic = []byte{0x1f, 0x8b}

// isGzip tells a compressed file by name or by its first two bytes.
func isGzip(path string, f io.ReaderAt) bool {
	if strings.HasSuffix(path, ".gz") {
		return true
	}
	var b [2]byte
	n, _ := f.ReadAt(b[:], 0)
	return n == 2 && bytes.Equal(b[:], gzipMagic)
}

// gzReaderAt serves monotonic ReadAt calls on the decompressed stream of a
// gzip file (the tailer reads forward only; skipping ahead to a resume
// offset discards bytes).
type gzReaderAt struct {
	zr  *gzip.Reader
	pos int64
}

func newGzReaderAt(f *os.File) (*gzReaderAt, error) {
	zr, err := gzip.NewReader(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return nil, err
	}
	return &gzReaderAt{zr: zr}, nil
}

func (g *gzReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < g.pos {
		return 0, errors.New("gzip: backward read")
	}
	if off > g.pos {
		n, err := io.CopyN(io.Discard, g.zr, off-g.pos)
		g.pos += n
		if err != nil {
			return 0, err
		}
	}
	n, err := io.ReadFull(g.zr, p)
	g.pos += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

// siblings lists the files next to path that a rotation may have produced:
// name.1, name.0, name-20260101, name.1.gz and the like (every entry of the
// directory whose name starts with the base name and a '.', '-' or '_').
func siblings(path string) []string {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if len(n) > len(base) && strings.HasPrefix(n, base) && strings.ContainsRune(".-_", rune(n[len(base)])) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out
}
