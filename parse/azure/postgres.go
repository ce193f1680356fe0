package azure

import (
	"strconv"
	"strings"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/parse/pglog"
)

// pgServer is the PostgreSQL parser of one Azure server: the %t-%c- session
// join needs every line of the server in one parser.
type pgServer struct {
	p    *pglog.Parser
	emit parse.Emit
}

// pgProps are the properties of a PostgreSQLLogs record (and the flattened
// AzureDiagnostics columns).
type pgProps struct {
	Message     jstr `json:"message"`
	Prefix      jstr `json:"prefix"`
	ErrorLevel  jstr `json:"errorLevel"`
	SQLErrCode  jstr `json:"sqlerrcode"`
	Detail      jstr `json:"detail"`
	ProcessID   jstr `json:"processId"`
	MessageS    jstr `json:"Message_s"`
	PrefixS     jstr `json:"prefix_s"`
	ErrorLevelS jstr `json:"errorLevel_s"`
	SQLErrCodeS jstr `json:"sqlerrcode_s"`
	DetailS     jstr `json:"Detail_s"`
	ProcessIDD  jstr `json:"processId_d"`
}

func or(a, b jstr) string {
	if a != "" {
		return string(a)
	}
	return string(b)
}

// server returns the pglog parser of a resource, creating it.
func (p *Parser) server(rid string) *pgServer {
	if s := p.pg[rid]; s != nil {
		return s
	}
	if len(p.pg) >= p.opts.MaxResources && len(p.pgOrder) > 0 {
		old := p.pgOrder[0]
		if s := p.pg[old]; s != nil {
			s.p.Flush(s.emit)
		}
		delete(p.pg, old)
		p.pgOrder = p.pgOrder[1:]
	}
	pp, err := pglog.New(pglog.FormatStderr, p.opts.PGPrefix)
	if err != nil {
		// a bad prefix from the command line: Azure's default still works
		pp, _ = pglog.New(pglog.FormatStderr, "%t-%c-")
	}
	s := &pgServer{p: pp}
	s.emit = func(ev *event.Event) {
		ev.Server.Address = rid
		ev.Source.Kind = KindResource
		ev.DB.System.Name = "postgresql"
		p.emit(ev)
	}
	p.pg[rid] = s
	p.pgOrder = append(p.pgOrder, rid)
	return s
}

var pgSeverities = []string{"LOG", "ERROR", "FATAL", "PANIC", "WARNING", "NOTICE", "INFO", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", "DEBUG", "STATEMENT", "DETAIL", "HINT", "CONTEXT", "LOCATION", "QUERY"}

// sevAt finds "<SEVERITY>:  " in line, preferring level; it returns the
// index of the severity and of the message after it.
func sevAt(line, level string) (sev, msg int) {
	try := func(s string) (int, int) {
		k := strings.Index(line, s+":  ")
		if k < 0 {
			return -1, -1
		}
		return k, k + len(s) + 3
	}
	if level != "" {
		if a, b := try(level); a >= 0 {
			return a, b
		}
	}
	best, bestMsg := -1, -1
	for _, s := range pgSeverities {
		if a, b := try(s); a >= 0 && (best < 0 || a < best) {
			best, bestMsg = a, b
		}
	}
	return best, bestMsg
}

func startsWithSeverity(m string) bool {
	for _, s := range pgSeverities {
		if strings.HasPrefix(m, s+":  ") {
			return true
		}
	}
	return false
}

// postgres feeds a PostgreSQLLogs record to its server's pglog parser.
func (p *Parser) postgres(r *rec) {
	var pr pgProps
	if err := props(r, &pr); err != nil {
		p.recordErr(r.pos, "PostgreSQLLogs properties: %v", err)
		return
	}
	msg := or(pr.Message, pr.MessageS)
	prefix := or(pr.Prefix, pr.PrefixS)
	level := strings.ToUpper(strings.TrimSpace(or(pr.ErrorLevel, pr.ErrorLevelS)))
	code := strings.TrimSpace(or(pr.SQLErrCode, pr.SQLErrCodeS))
	detail := or(pr.Detail, pr.DetailS)
	if strings.TrimSpace(msg) == "" {
		p.stats.Ignored++
		return
	}
	rid, _ := resource(string(r.env.ResourceID))
	s := p.server(rid)

	msg = strings.TrimRight(msg, "\r\n")
	first, rest, multi := strings.Cut(msg, "\n")
	var line string
	switch {
	case prefix != "" && startsWithSeverity(first):
		line = prefix + first
	case prefix != "":
		lv := level
		if lv == "" {
			lv = "LOG"
		}
		line = prefix + lv + ":  " + first
	default:
		line = first
	}
	sev, body := sevAt(line, level)
	if sev < 0 {
		// no severity where pglog expects one: rebuild the line from the
		// record (time, a session from the pid, level)
		line = synthLine(r, pr, level, first)
		sev, body = sevAt(line, level)
	}
	// Azure gives the SQLSTATE apart; put it where log_error_verbosity =
	// verbose prints it, so that failed logins get their exact code.
	if code != "" && code != "00000" && len(code) == 5 && sev >= 0 && body <= len(line) {
		sv := line[sev:body]
		if strings.HasPrefix(sv, "ERROR") || strings.HasPrefix(sv, "FATAL") || strings.HasPrefix(sv, "PANIC") || strings.HasPrefix(sv, "WARNING") {
			if !strings.HasPrefix(line[body:], code+": ") {
				line = line[:body] + code + ": " + line[body:]
			}
		}
	}
	base := parse.Line{File: r.pos.file, Offset: r.pos.off<<seqBits | int64(r.pos.idx&(1<<seqBits-1)), No: r.pos.line}
	feed := func(text string) {
		l := base
		l.Text = []byte(text)
		if err := s.p.Parse(l, s.emit); err != nil {
			p.recordErr(r.pos, "PostgreSQLLogs message: %v", err)
		}
	}
	if err := s.p.Parse(parse.Line{Text: []byte(line), File: base.File, Offset: base.Offset, No: base.No}, s.emit); err != nil {
		// the prefix is not one pglog knows: rebuild the line from the record
		alt := synthLine(r, pr, level, msgAfterSeverity(line, level))
		if err2 := s.p.Parse(parse.Line{Text: []byte(alt), File: base.File, Offset: base.Offset, No: base.No}, s.emit); err2 != nil {
			p.recordErr(r.pos, "PostgreSQLLogs message: %v", err)
			return
		}
		line = alt
		sev, _ = sevAt(line, level)
	}
	if multi {
		for _, c := range strings.Split(rest, "\n") {
			feed("\t" + strings.TrimPrefix(strings.TrimRight(c, "\r"), "\t"))
		}
	}
	if d := strings.TrimSpace(detail); d != "" && sev >= 0 {
		dl, drest, dmulti := strings.Cut(d, "\n")
		feed(line[:sev] + "DETAIL:  " + dl)
		if dmulti {
			for _, c := range strings.Split(drest, "\n") {
				feed("\t" + strings.TrimPrefix(strings.TrimRight(c, "\r"), "\t"))
			}
		}
	}
}

// msgAfterSeverity is the message of a line without its prefix and
// severity (the whole line when none is found).
func msgAfterSeverity(line, level string) string {
	if _, b := sevAt(line, level); b >= 0 {
		return line[b:]
	}
	return line
}

// synthLine builds a %t-%c- line from the record when the message's own
// prefix cannot be read: time from the record, session from the pid.
func synthLine(r *rec, pr pgProps, level, msg string) string {
	if level == "" {
		level = "LOG"
	}
	if _, b := sevAt(msg, level); b >= 0 {
		msg = msg[b:]
	}
	pid, _ := jstr(or(pr.ProcessID, pr.ProcessIDD)).int()
	if pid < 0 {
		pid = 0
	}
	return r.t.Format("2006-01-02 15:04:05") + " UTC-0." + strconv.FormatInt(pid, 16) + "-" + level + ":  " + msg
}
