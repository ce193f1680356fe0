package pglog

// severity is a PostgreSQL error_severity word, primary (DEBUG…PANIC) or
// the label of a secondary stderr line (DETAIL, STATEMENT…).
type severity uint8

const (
	sevNone severity = iota
	sevDebug
	sevInfo
	sevNotice
	sevWarning
	sevLog
	sevError
	sevFatal
	sevPanic
	// secondary lines (stderr only; csvlog and jsonlog fold them into columns)
	sevDetail
	sevHint
	sevContext
	sevStatement
	sevQuery
	sevLocation
	sevBacktrace
)

var sevNames = [...]string{
	sevNone: "", sevDebug: "DEBUG", sevInfo: "INFO", sevNotice: "NOTICE", sevWarning: "WARNING",
	sevLog: "LOG", sevError: "ERROR", sevFatal: "FATAL", sevPanic: "PANIC",
	sevDetail: "DETAIL", sevHint: "HINT", sevContext: "CONTEXT", sevStatement: "STATEMENT",
	sevQuery: "QUERY", sevLocation: "LOCATION", sevBacktrace: "BACKTRACE",
}

func (s severity) String() string { return sevNames[s] }

func (s severity) secondary() bool { return s >= sevDetail }

// parseSeverity maps a severity word as PostgreSQL prints it (English
// lc_messages) to its code; DEBUG1..DEBUG5 are printed as "DEBUG" but
// accepted either way.
func parseSeverity(w []byte) severity {
	switch string(w) {
	case "LOG":
		return sevLog
	case "ERROR":
		return sevError
	case "FATAL":
		return sevFatal
	case "DETAIL":
		return sevDetail
	case "STATEMENT":
		return sevStatement
	case "HINT":
		return sevHint
	case "CONTEXT":
		return sevContext
	case "LOCATION":
		return sevLocation
	case "WARNING":
		return sevWarning
	case "NOTICE":
		return sevNotice
	case "INFO":
		return sevInfo
	case "QUERY":
		return sevQuery
	case "PANIC":
		return sevPanic
	case "BACKTRACE":
		return sevBacktrace
	case "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5":
		return sevDebug
	}
	return sevNone
}

// severityAt recognizes "<SEVERITY>:  " at line[i:] and returns the
// severity and where the message starts.
func severityAt(line []byte, i int) (severity, int) {
	j := i
	for j < len(line) && j-i < 10 && (line[j] >= 'A' && line[j] <= 'Z' || line[j] >= '0' && line[j] <= '9') {
		j++
	}
	if j == i || j+3 > len(line) || line[j] != ':' || line[j+1] != ' ' || line[j+2] != ' ' {
		return sevNone, 0
	}
	s := parseSeverity(line[i:j])
	if s == sevNone {
		return sevNone, 0
	}
	return s, j + 3
}
