package notify

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/config"
)

// rfc5424RE is the grammar of RFC 5424 §6 for the messages Vigil writes.
var rfc5424RE = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[.*?[^\\]\]|-) (?:\x{FEFF})?(.*)$`)

type syslogMsg struct {
	Pri                            int
	Time                           time.Time
	Host, App, ProcID, MsgID, SDID string
	Params                         map[string]string
	Msg                            string
}

func parseRFC5424(t *testing.T, line string) syslogMsg {
	t.Helper()
	m := rfc5424RE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("not RFC 5424: %q", line)
	}
	var out syslogMsg
	out.Pri, _ = strconv.Atoi(m[1])
	ts, err := time.Parse(time.RFC3339Nano, m[2])
	if err != nil {
		t.Fatalf("timestamp %q: %v", m[2], err)
	}
	out.Time, out.Host, out.App, out.ProcID, out.MsgID, out.Msg = ts, m[3], m[4], m[5], m[6], m[8]
	// [SDID k="v" ...] with \" \\ \] escapes.
	sd := m[7]
	out.Params = map[string]string{}
	sd = strings.TrimSuffix(strings.TrimPrefix(sd, "["), "]")
	id, rest, _ := strings.Cut(sd, " ")
	out.SDID = id
	for rest != "" {
		k, r, ok := strings.Cut(rest, `="`)
		if !ok {
			t.Fatalf("bad SD %q", sd)
		}
		var v strings.Builder
		i := 0
		for ; i < len(r); i++ {
			if r[i] == '\\' && i+1 < len(r) {
				i++
				v.WriteByte(r[i])
				continue
			}
			if r[i] == '"' {
				break
			}
			v.WriteByte(r[i])
		}
		out.Params[strings.TrimSpace(k)] = v.String()
		rest = strings.TrimSpace(r[min(i+1, len(r)):])
	}
	return out
}

// parseCEF splits a CEF record into its 7 header fields and extensions,
// undoing the escapes of the CEF specification.
func parseCEF(t *testing.T, s string) ([]string, map[string]string) {
	t.Helper()
	var hdr []string
	var cur strings.Builder
	i := 0
	for ; i < len(s) && len(hdr) < 7; i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == '|':
			hdr = append(hdr, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	if len(hdr) != 7 || !strings.HasPrefix(hdr[0], "CEF:") {
		t.Fatalf("not CEF: %q", s)
	}
	ext := map[string]string{}
	keyRE := regexp.MustCompile(`(?:^| )([A-Za-z0-9]+)=`)
	rest := s[i:]
	locs := keyRE.FindAllStringSubmatchIndex(rest, -1)
	// Keys are found where an unescaped '=' follows a word.
	var keys [][]int
	for _, l := range locs {
		if l[3] < len(rest) && (l[3] == 0 || rest[l[3]-1] != '\\') {
			eq := l[3]
			if eq > 0 && rest[eq-1] == '\\' {
				continue
			}
			keys = append(keys, l)
		}
	}
	unesc := strings.NewReplacer(`\\`, `\`, `\=`, `=`, `\n`, "\n", `\r`, "\r")
	for j, l := range keys {
		end := len(rest)
		if j+1 < len(keys) {
			end = keys[j+1][0]
		}
		ext[rest[l[2]:l[3]]] = unesc.Replace(rest[l[1]:end])
	}
	return hdr, ext
}

func TestSyslog(t *testing.T) {
	cert, caFile := selfSigned(t, t.TempDir())
	a := testAlert("s1", "ddl.drop_table", "203.0.113.7", 4, t0)
	a.Title = `Table dropped | with "pipe" = and \ slash`
	a.Entity.Database = "shop=main"
	m := &Message{DeliveryID: "dlv1", Kind: KindTrigger, Route: "siem", Notifier: "siem", Time: t0, Alert: *a,
		Status: "open", Link: "https://vigil.example.com/alerts/s1"}

	for _, tc := range []struct{ network, format string }{{"udp", "rfc5424"}, {"tcp", "cef"}, {"tls", "cef"}, {"tcp", "rfc5424"}} {
		t.Run(tc.network+"-"+tc.format, func(t *testing.T) {
			lines := make(chan string, 4)
			var addr string
			switch tc.network {
			case "udp":
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { pc.Close() })
				addr = pc.LocalAddr().String()
				go func() {
					buf := make([]byte, 65536)
					for {
						n, _, err := pc.ReadFrom(buf)
						if err != nil {
							return
						}
						lines <- string(buf[:n])
					}
				}()
			default:
				var l net.Listener
				var err error
				if tc.network == "tls" {
					l, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
				} else {
					l, err = net.Listen("tcp", "127.0.0.1:0")
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
				addr = l.Addr().String()
				go func() {
					c, err := l.Accept()
					if err != nil {
						return
					}
					defer c.Close()
					r := bufio.NewReader(c)
					for {
						// Octet counting: LEN SP MSG.
						n, err := r.ReadString(' ')
						if err != nil {
							return
						}
						size, err := strconv.Atoi(strings.TrimSpace(n))
						if err != nil {
							lines <- "bad frame length " + n
							return
						}
						buf := make([]byte, size)
						if _, err := io.ReadFull(r, buf); err != nil {
							return
						}
						lines <- string(buf)
					}
				}()
			}
			reg, _ := lookup(config.NotifierSyslog)
			n, err := reg.factory(config.Notifier{Name: "siem", Type: config.NotifierSyslog, Address: tc.network + "://" + addr,
				Format: tc.format, Facility: "local4", AppName: "vigil", CAFile: caFile}, Env{Version: "1.2.3", Hostname: "vigil-host"})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ { // two messages on one stream
				if err := n.Send(t.Context(), m); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 2; i++ {
				var line string
				select {
				case line = <-lines:
				case <-time.After(10 * time.Second):
					t.Fatal("no syslog message")
				}
				sm := parseRFC5424(t, line)
				if sm.Pri != 20*8+3 || sm.Host != "vigil-host" || sm.App != "vigil" || sm.MsgID != "alert" || sm.SDID != SDID ||
					time.Since(sm.Time) > time.Minute {
					t.Errorf("header = %+v", sm)
				}
				if sm.Params["id"] != "s1" || sm.Params["rule"] != "ddl.drop_table" || sm.Params["delivery"] != "dlv1" ||
					sm.Params["count"] != "4" || sm.Params["db"] != "shop=main" || sm.Params["client"] != "203.0.113.7" {
					t.Errorf("structured data = %v", sm.Params)
				}
				if tc.format == "rfc5424" {
					if !strings.Contains(sm.Msg, a.Title) || !strings.Contains(sm.Msg, "https://vigil.example.com/alerts/s1") {
						t.Errorf("msg = %q", sm.Msg)
					}
					continue
				}
				hdr, ext := parseCEF(t, sm.Msg)
				want := []string{"CEF:0", "Vigil", "Vigil", "1.2.3", "ddl.drop_table", a.Title, "8"}
				if strings.Join(hdr, "\x00") != strings.Join(want, "\x00") {
					t.Errorf("CEF header = %q, want %q", hdr, want)
				}
				if ext["src"] != "203.0.113.7" || ext["suser"] != "mallory" || ext["dhost"] != "db1:5432" || ext["cnt"] != "4" ||
					ext["cs1Label"] != "database" || ext["cs1"] != "shop=main" || ext["externalId"] != "s1" ||
					ext["cs5"] != "https://vigil.example.com/alerts/s1" || ext["rt"] != strconv.FormatInt(t0.UnixMilli(), 10) ||
					ext["cs3"] != "T1485 Data Destruction" {
					t.Errorf("CEF extensions = %v", ext)
				}
			}
		})
	}
}

func TestCEFEscaping(t *testing.T) {
	if got := cefHeader(`a|b\c`); got != `a\|b\\c` {
		t.Errorf("cefHeader = %q", got)
	}
	if got := cefValue("a=b\\c\nd"); got != `a\=b\\c\nd` {
		t.Errorf("cefValue = %q", got)
	}
	if got := sdEscape(`a"b]c\`); got != `a\"b\]c\\` {
		t.Errorf("sdEscape = %q", got)
	}
}
