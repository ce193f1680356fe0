package pglog

import "bytes"

// auditLine is one pgaudit record:
//
//	AUDIT: <TYPE>,<STATEMENT_ID>,<SUBSTATEMENT_ID>,<CLASS>,<COMMAND>,<OBJECT_TYPE>,<OBJECT_NAME>,<STATEMENT>,<PARAMETER>[,<ROWS>]
//
// Fields are CSV-quoted by pgaudit when they contain a comma, a quote or a
// line break (quotes doubled).
type auditLine struct {
	typ, class, cmd, objType, objName, stmt, param []byte
	id, sub                                        int64
	rows                                           int64
	hasRows                                        bool
}

// splitCSV splits a CSV record (RFC 4180: "" inside quotes is a quote) into
// at most len(out) fields. Unquoted fields are sub-slices of rec; quoted
// fields that contain doubled quotes are unescaped into scratch, which must
// have capacity for len(rec) bytes so that earlier fields stay valid. It
// returns the number of fields, or -1 when the record is malformed (a quote
// not closed, or text after a closing quote). More fields than out holds are
// counted but not stored.
func splitCSV(rec []byte, out [][]byte, scratch []byte) (int, []byte) {
	n := 0
	i := 0
	for {
		var f []byte
		if i < len(rec) && rec[i] == '"' {
			// quoted field
			j := i + 1
			start := j
			esc := false
			for {
				k := indexByteFrom(rec, '"', j)
				if k < 0 {
					return -1, scratch
				}
				if k+1 < len(rec) && rec[k+1] == '"' {
					esc = true
					j = k + 2
					continue
				}
				j = k
				break
			}
			if esc {
				s0 := len(scratch)
				for p := start; p < j; p++ {
					scratch = append(scratch, rec[p])
					if rec[p] == '"' {
						p++ // skip the doubled quote
					}
				}
				f = scratch[s0:len(scratch):len(scratch)]
			} else {
				f = rec[start:j:j]
			}
			i = j + 1
			if i < len(rec) && rec[i] != ',' {
				return -1, scratch
			}
		} else {
			k := indexByteFrom(rec, ',', i)
			if k < 0 {
				k = len(rec)
			}
			f = rec[i:k:k]
			i = k
		}
		if n < len(out) {
			out[n] = f
		}
		n++
		if i >= len(rec) {
			return n, scratch
		}
		i++ // skip the comma
		if i == len(rec) {
			// trailing comma: one more empty field
			if n < len(out) {
				out[n] = nil
			}
			return n + 1, scratch
		}
	}
}

func indexByteFrom(b []byte, c byte, from int) int {
	if from >= len(b) {
		return -1
	}
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// parseAudit parses the text after "AUDIT: ". ok is false when the record
// does not have pgaudit's shape (fewer than 9 fields, ids not numbers).
func parseAudit(s []byte, a *auditLine, scratch []byte) (bool, []byte) {
	var f [10][]byte
	n, scratch := splitCSV(s, f[:], scratch)
	if n < 9 || n > 10 {
		return false, scratch
	}
	id, ok1 := atoi64(f[1])
	sub, ok2 := atoi64(f[2])
	if !ok1 || !ok2 {
		return false, scratch
	}
	*a = auditLine{
		typ: f[0], id: id, sub: sub, class: f[3], cmd: f[4], objType: f[5], objName: f[6],
		stmt: f[7], param: f[8],
	}
	if n == 10 {
		if r, ok := atoi64(f[9]); ok {
			a.rows, a.hasRows = r, true
		}
	}
	return true, scratch
}
