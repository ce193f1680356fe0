package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigildb/vigil/config"
)

// selfSigned makes a certificate for 127.0.0.1 and writes it (PEM) to
// dir/ca.pem, for clients to trust.
func selfSigned(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, _ := x509.MarshalECPrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, path
}

// smtpBackend is a real SMTP server's backend that keeps what it receives.
type smtpBackend struct {
	user, pass string
	mu         sync.Mutex
	got        chan smtpMail
	authed     bool
}

type smtpMail struct {
	From string
	To   []string
	Data []byte
	Auth bool
}

type smtpSession struct {
	b    *smtpBackend
	m    smtpMail
	auth bool
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.m.From = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.To = append(s.m.To, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.Data, s.m.Auth = b, s.auth
	s.b.got <- s.m
	return nil
}
func (s *smtpSession) Reset()        { s.m = smtpMail{} }
func (s *smtpSession) Logout() error { return nil }

// startSMTP serves SMTP on loopback: STARTTLS offered with cert, or
// implicit TLS.
func startSMTP(t *testing.T, be *smtpBackend, cert tls.Certificate, implicit bool) int {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", tc)
	} else if cert.Certificate == nil {
		l, err = net.Listen("tcp", "127.0.0.1:0") // no TLS at all
	} else {
		srv.TLSConfig = tc
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func decodePart(t *testing.T, p *multipart.Part) string {
	t.Helper()
	var r io.Reader = p
	if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(p)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEmail(t *testing.T) {
	dir := t.TempDir()
	cert, caFile := selfSigned(t, dir)
	const password = "sm7p-pa55w0rd-secret"
	for _, mode := range []string{"starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			be := &smtpBackend{user: "vigil", pass: password, got: make(chan smtpMail, 1)}
			port := startSMTP(t, be, cert, mode == "tls")
			nc := config.Notifier{Name: "mail", Type: config.NotifierEmail, Host: "127.0.0.1", Port: port, TLSMode: mode,
				Username: "vigil", Password: config.NewSecret(password), From: "vigil@example.com",
				To: []string{"dba@example.com", "soc@example.com"}, SubjectPrefix: "[vigil]", CAFile: caFile,
				Timeout: 10 * time.Second}
			st := openStore(t, t.TempDir())
			s := mustNew(t, Config{Notifiers: []config.Notifier{nc}, Routes: []config.Route{newRoute("mail", "mail")},
				BaseURL: "https://vigil.example.com"}, st, fastOpts(nil))
			runService(t, s)
			upsert(t, st, testAlert("m1", "ddl.drop_table", "203.0.113.7", 3, t0))
			s.Wake()
			var got smtpMail
			select {
			case got = <-be.got:
			case <-time.After(20 * time.Second):
				t.Fatal("no mail")
			}
			if !got.Auth || got.From != "vigil@example.com" || strings.Join(got.To, ",") != "dba@example.com,soc@example.com" {
				t.Errorf("envelope = %+v", got)
			}
			if bytes.Contains(got.Data, []byte(password)) {
				t.Error("the message holds the SMTP password")
			}
			msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
			if err != nil {
				t.Fatal(err)
			}
			subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if subj != "[vigil] [HIGH] Table dropped on db1:5432" {
				t.Errorf("subject = %q", subj)
			}
			if id := msg.Header.Get("X-Vigil-Delivery"); id == "" || !strings.Contains(msg.Header.Get("Message-Id"), id) {
				t.Errorf("delivery id %q, message id %q", id, msg.Header.Get("Message-Id"))
			}
			mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/alternative" {
				t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
			}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			parts := map[string]string{}
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
				parts[ct] = decodePart(t, p)
			}
			text, html := parts["text/plain"], parts["text/html"]
			for _, want := range []string{"Table dropped", "ddl.drop_table", "TA0040 Impact / T1485 Data Destruction", "db1:5432", "shop",
				"mallory", "203.0.113.7", "psql", "DROP TABLE customers", "Data is gone.", "Restore from backup.", "https://vigil.example.com/alerts/m1"} {
				if !strings.Contains(text, want) {
					t.Errorf("text part lacks %q:\n%s", want, text)
				}
				if !strings.Contains(html, strings.ReplaceAll(want, "&", "&amp;")) {
					t.Errorf("html part lacks %q:\n%s", want, html)
				}
			}
			if !strings.Contains(html, `<a href="https://vigil.example.com/alerts/m1">`) {
				t.Errorf("html part lacks the link:\n%s", html)
			}
			waitFor(t, "sent", func() bool { return countOutbox(t, st, "status = 'sent'") == 1 })
		})
	}
}

// TestEmailBadPasswordNotLeaked: a refused login fails the attempt with an
// error that says where, and does not repeat the password.
// TestEmailPlainLoopback: tls: none to a loopback relay without AUTH.
func TestEmailPlainLoopback(t *testing.T) {
	be := &smtpBackend{got: make(chan smtpMail, 1)}
	port := startSMTP(t, be, tls.Certificate{}, false)
	reg, _ := lookup(config.NotifierEmail)
	n, err := reg.factory(config.Notifier{Name: "mail", Host: "127.0.0.1", Port: port, TLSMode: "none",
		From: "vigil@example.com", To: []string{"dba@example.com"}, Timeout: 5 * time.Second}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("m3", "ddl.drop_table", "203.0.113.7", 1, t0)
	if err := n.Send(context.Background(), &Message{DeliveryID: "d3", Kind: KindTrigger, Alert: *a, Time: t0}); err != nil {
		t.Fatal(err)
	}
	got := <-be.got
	if got.Auth || !bytes.Contains(got.Data, []byte("multipart/alternative")) {
		t.Errorf("mail = %+v", got)
	}
}

func TestEmailBadPasswordNotLeaked(t *testing.T) {
	dir := t.TempDir()
	cert, caFile := selfSigned(t, dir)
	be := &smtpBackend{user: "vigil", pass: "right-password", got: make(chan smtpMail, 1)}
	port := startSMTP(t, be, cert, false)
	reg, _ := lookup(config.NotifierEmail)
	const wrong = "wr0ng-pa55word-xyz"
	n, err := reg.factory(config.Notifier{Name: "mail", Host: "127.0.0.1", Port: port, TLSMode: "starttls", Username: "vigil",
		Password: config.NewSecret(wrong), From: "vigil@example.com", To: []string{"dba@example.com"}, CAFile: caFile,
		Timeout: 5 * time.Second}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("m2", "ddl.drop_table", "203.0.113.7", 1, t0)
	err = n.Send(context.Background(), &Message{DeliveryID: "d1", Kind: KindTrigger, Alert: *a, Time: t0})
	if err == nil || strings.Contains(err.Error(), wrong) {
		t.Fatalf("Send with a wrong password = %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("error does not say where: %v", err)
	}
}
