package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// testCA is a CA and a server certificate for 127.0.0.1 it signed.
type testCA struct {
	caFile string          // the CA certificate, PEM
	server tls.Certificate // 127.0.0.1 / localhost
	pool   *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &testCA{caFile: caFile, pool: pool, server: tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}
}

func (ca *testCA) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12}
}

// consumeAll runs a source with opts until it has fed want records.
func consumeAll(t *testing.T, opts Options, want int) *recorder {
	t.Helper()
	rec := newRecorder(want)
	s, err := New(opts, rec.feed)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := runSource(ctx, s)
	select {
	case <-rec.done:
	case err := <-ch:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("timed out")
	}
	cancel()
	waitRun(t, ch)
	return rec
}

// runFails runs a source with opts and returns Run's error, which must come
// without the context ending.
func runFails(t *testing.T, opts Options) error {
	t.Helper()
	s, err := New(opts, nopFeed)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	start := time.Now()
	err = s.Run(ctx)
	if err == nil {
		t.Fatal("Run returned nil")
	}
	if ctx.Err() != nil {
		t.Fatalf("Run returned only when the context ended: %v", err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	return err
}

func TestSASLPlain(t *testing.T) {
	const n = 5
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "vigil", "s3cret-pw"))
	produce(t, c.addrs, 0, n, kgo.SASL(plain.Auth{User: "vigil", Pass: "s3cret-pw"}.AsMechanism()))

	opts := baseOptions(t, c, "gs")
	opts.SASL = SASL{User: "vigil", Password: "s3cret-pw"}
	rec := consumeAll(t, opts, n*len(testTopics)*int(testParts))
	checkExactlyOnce(t, rec, n)

	opts.SASL.Password = "wrong-pw"
	err := runFails(t, opts)
	if msg := err.Error(); !strings.Contains(msg, "authentication failed") || !strings.Contains(msg, `user "vigil"`) ||
		strings.Contains(msg, "wrong-pw") {
		t.Errorf("unclear error: %v", err)
	}
}

func TestTLS(t *testing.T) {
	const n = 5
	ca := newTestCA(t)
	c := newCluster(t, kfake.TLS(ca.serverConfig()))
	produce(t, c.addrs, 0, n, kgo.DialTLSConfig(&tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}))

	opts := baseOptions(t, c, "gt")
	opts.TLS = TLS{Enable: true, CAFile: ca.caFile}
	rec := consumeAll(t, opts, n*len(testTopics)*int(testParts))
	checkExactlyOnce(t, rec, n)

	// A certificate signed by another CA is refused.
	opts.TLS.CAFile = newTestCA(t).caFile
	err := runFails(t, opts)
	if !strings.Contains(err.Error(), "certificate not trusted") {
		t.Errorf("unclear error: %v", err)
	}
}

// The Event Hubs way: TLS, SASL PLAIN with user $ConnectionString and the
// connection string as the password, the topic from EntityPath.
func TestEventHubsConnectionString(t *testing.T) {
	const n = 5
	cs := "Endpoint=sb://vigil-test.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=" + testKey + ";EntityPath=pg-logs"
	ca := newTestCA(t)
	c := newCluster(t, kfake.TLS(ca.serverConfig()), kfake.EnableSASL(), kfake.Superuser("PLAIN", EventHubsUser, cs))
	produce(t, c.addrs, 0, n, kgo.DialTLSConfig(&tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}),
		kgo.SASL(plain.Auth{User: EventHubsUser, Pass: cs}.AsMechanism()))

	// Brokers is set because the namespace is not resolvable here; the
	// rest comes from the connection string.
	opts := Options{Name: "eh", ConnectionString: cs, Brokers: c.addrs, TLS: TLS{CAFile: ca.caFile},
		Group: "ge", RetryMin: 5 * time.Millisecond, Logger: testLogger(t), extra: fast()}
	rec := consumeAll(t, opts, n*int(testParts))
	got := rec.perFile()
	for p := range testParts {
		if offs := got[fileOf("pg-logs", p)]; len(offs) != n {
			t.Errorf("pg-logs/%d: %v", p, offs)
		}
	}
	if len(got) != int(testParts) {
		t.Errorf("consumed %d partitions, want only pg-logs's", len(got))
	}

	// A wrong key fails clearly, without showing either key.
	wrongKey := "d3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5="
	opts.ConnectionString = strings.Replace(cs, testKey, wrongKey, 1)
	err := runFails(t, opts)
	if msg := err.Error(); !strings.Contains(msg, "authentication failed") || !strings.Contains(msg, EventHubsUser) ||
		strings.Contains(msg, wrongKey) || strings.Contains(msg, testKey) {
		t.Errorf("unclear error: %v", err)
	}
}

// Real Kafka (and Event Hubs, depending on the failure) answers a bad
// password with SASL_AUTHENTICATION_FAILED rather than closing the
// connection as kfake does; the error names it.
func TestSASLAuthenticationFailedResponse(t *testing.T) {
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "vigil", "s3cret-pw"))
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.SASLAuthenticateRequest)
		if strings.HasSuffix(string(req.SASLAuthBytes), "\x00s3cret-pw") {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.Version = req.Version
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
	opts := baseOptions(t, c, "gf")
	opts.SASL = SASL{User: "vigil", Password: "wrong-pw"}
	err := runFails(t, opts)
	if msg := err.Error(); !strings.Contains(msg, "authentication failed") || !strings.Contains(msg, "SASL_AUTHENTICATION_FAILED") ||
		strings.Contains(msg, "wrong-pw") {
		t.Errorf("unclear error: %v", err)
	}
}
