package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigildb/vigil/config"
)

// Syslog sends one RFC 5424 message per alert to a SIEM, over UDP, TCP
// or TLS (RFC 5425); on streams messages are framed by octet counting
// (RFC 6587 §3.4.1: "LEN SP MSG"). With format cef the MSG part is an
// ArcSight CEF record. The standard library's log/syslog writes neither
// RFC 5424 nor TLS, hence the hand-written framing.
type syslogNotifier struct {
	network, addr string // udp, tcp, tls
	tlsConf       *tls.Config
	format        string
	facility      int
	app, host     string
	version       string

	mu   sync.Mutex
	conn net.Conn
}

// SDID is the structured-data id of Vigil's RFC 5424 messages. 32473 is
// the private enterprise number RFC 5612 reserves for documentation.
const SDID = "vigil@32473"

func init() {
	Register(config.NotifierSyslog, newSyslog)
}

func newSyslog(c config.Notifier, env Env) (Notifier, error) {
	scheme, addr, ok := strings.Cut(c.Address, "://")
	if !ok {
		return nil, fmt.Errorf("address %q: want udp://, tcp:// or tls:// HOST:PORT", c.Address)
	}
	fac, ok := config.SyslogFacility(c.Facility)
	if !ok {
		fac = 16
	}
	n := &syslogNotifier{network: scheme, addr: addr, format: c.Format, facility: fac, app: c.AppName, host: env.Hostname, version: env.Version}
	if n.app == "" {
		n.app = "vigil"
	}
	if n.host == "" {
		n.host = "-"
	}
	if scheme == "tls" {
		tc, err := tlsConfig(c.CAFile, c.ServerName, addr)
		if err != nil {
			return nil, err
		}
		n.tlsConf = tc
	}
	return n, nil
}

// tlsConfig trusts caFile (PEM) instead of the system roots when given.
func tlsConfig(caFile, serverName, addr string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tc.ServerName = host
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// syslogSeverity maps Vigil's severities onto syslog's.
func syslogSeverity(sev string) int {
	switch sev {
	case "critical":
		return 2 // crit
	case "high":
		return 3 // err
	case "medium":
		return 4 // warning
	case "low":
		return 5 // notice
	}
	return 6 // info
}

// cefSeverity maps Vigil's severities onto CEF's 0-10.
func cefSeverity(sev string) int {
	switch sev {
	case "critical":
		return 10
	case "high":
		return 8
	case "medium":
		return 5
	case "low":
		return 3
	}
	return 1
}

// sdEscape escapes an SD-PARAM value (RFC 5424 §6.3.3).
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

// cefHeader escapes a CEF header field: backslash and pipe.
func cefHeader(s string) string {
	return strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// cefValue escapes a CEF extension value: backslash, equals sign and
// line breaks.
func cefValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s)
}

// printUSASCII keeps an RFC 5424 header field within PRINTUSASCII.
func printUSASCII(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r > 32 && r < 127 {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if out == "" {
		return "-"
	}
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// CEF returns the CEF record of a message:
// CEF:0|Vigil|Vigil|version|rule_id|title|severity|extensions.
func CEF(m *Message, version string) string {
	a := &m.Alert
	c := buildContent(m)
	name := a.Title
	if m.Kind != KindTrigger {
		name = c.Headline
	}
	var ext []string
	add := func(k, v string) {
		if v != "" {
			ext = append(ext, k+"="+cefValue(v))
		}
	}
	if !a.LastTime.IsZero() {
		add("rt", strconv.FormatInt(a.LastTime.UnixMilli(), 10))
		add("end", strconv.FormatInt(a.LastTime.UnixMilli(), 10))
	}
	if !a.FirstTime.IsZero() {
		add("start", strconv.FormatInt(a.FirstTime.UnixMilli(), 10))
	}
	add("cnt", strconv.FormatInt(a.Count, 10))
	add("src", a.Entity.Client)
	add("suser", a.Entity.User)
	add("dhost", a.Entity.Server)
	add("requestClientApplication", a.Entity.App)
	add("externalId", a.ID)
	add("act", m.Kind)
	add("cat", a.Mitre.TacticName)
	add("cs1Label", "database")
	add("cs1", a.Entity.Database)
	add("cs2Label", "mitreTactic")
	add("cs2", strings.TrimSpace(a.Mitre.Tactic+" "+a.Mitre.TacticName))
	add("cs3Label", "mitreTechnique")
	add("cs3", strings.TrimSpace(a.Mitre.Technique+" "+a.Mitre.TechniqueName))
	add("cs4Label", "deliveryId")
	add("cs4", m.DeliveryID)
	if m.Link != "" {
		add("cs5Label", "alertUrl")
		add("cs5", m.Link)
	}
	if len(c.Evidence) > 0 {
		add("cs6Label", "evidence")
		add("cs6", c.Evidence[0])
	}
	add("msg", c.Summary)
	return fmt.Sprintf("CEF:0|Vigil|Vigil|%s|%s|%s|%d|%s", cefHeader(version), cefHeader(a.RuleID), cefHeader(name),
		cefSeverity(a.Severity), strings.Join(ext, " "))
}

// RFC5424 returns the syslog message of m (without stream framing).
func (n *syslogNotifier) rfc5424(m *Message, now time.Time) string {
	a := &m.Alert
	pri := n.facility*8 + syslogSeverity(a.Severity)
	var msg string
	if n.format == "cef" {
		msg = CEF(m, n.version)
	} else {
		c := buildContent(m)
		msg = c.Headline + " — " + c.Summary
		if m.Link != "" {
			msg += " " + m.Link
		}
	}
	params := []struct{ k, v string }{
		{"id", a.ID}, {"delivery", m.DeliveryID}, {"kind", m.Kind}, {"rule", a.RuleID}, {"severity", a.Severity},
		{"count", strconv.FormatInt(a.Count, 10)}, {"server", a.Entity.Server}, {"db", a.Entity.Database},
		{"user", a.Entity.User}, {"client", a.Entity.Client}, {"tactic", a.Mitre.Tactic}, {"technique", a.Mitre.Technique},
	}
	var sd strings.Builder
	sd.WriteString("[" + SDID)
	for _, p := range params {
		if p.v != "" {
			sd.WriteString(" " + p.k + `="` + sdEscape(p.v) + `"`)
		}
	}
	sd.WriteString("]")
	msgid := "alert"
	if m.Kind != KindTrigger {
		msgid = m.Kind
	}
	return fmt.Sprintf("<%d>1 %s %s %s - %s %s \xef\xbb\xbf%s", pri, now.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		printUSASCII(n.host, 255), printUSASCII(n.app, 48), msgid, sd.String(), oneLine(msg))
}

func (n *syslogNotifier) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	switch n.network {
	case "tls":
		td := &tls.Dialer{NetDialer: d, Config: n.tlsConf}
		return td.DialContext(ctx, "tcp", n.addr)
	default:
		return d.DialContext(ctx, n.network, n.addr)
	}
}

func (n *syslogNotifier) Send(ctx context.Context, m *Message) error {
	line := n.rfc5424(m, time.Now())
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.network == "udp" {
		conn, err := n.dial(ctx)
		if err != nil {
			return fmt.Errorf("syslog udp %s: %v", n.addr, err)
		}
		defer conn.Close()
		if len(line) > 8192 {
			line = line[:8192]
		}
		if _, err := conn.Write([]byte(line)); err != nil {
			return fmt.Errorf("syslog udp %s: %v", n.addr, err)
		}
		return nil
	}
	frame := []byte(strconv.Itoa(len(line)) + " " + line)
	// One connection is kept; a write on a connection the receiver closed
	// may fail (or succeed into the void, which TCP cannot tell), so a
	// failed write is retried once on a fresh connection.
	for try := 0; try < 2; try++ {
		if n.conn == nil {
			c, err := n.dial(ctx)
			if err != nil {
				return fmt.Errorf("syslog %s %s: %v", n.network, n.addr, err)
			}
			n.conn = c
		}
		if dl, ok := ctx.Deadline(); ok {
			n.conn.SetWriteDeadline(dl)
		}
		_, err := n.conn.Write(frame)
		if err == nil {
			return nil
		}
		n.conn.Close()
		n.conn = nil
		if try == 1 || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("syslog %s %s: %v", n.network, n.addr, err)
		}
	}
	return nil
}

// Close closes the kept stream connection, if any.
func (n *syslogNotifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	return err
}
