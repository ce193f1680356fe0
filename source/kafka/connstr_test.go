package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vigildb/vigil/parse"
)

const (
	testKey = "c2VjcmV0S2V5VmFsdWVfdGhhdF9tdXN0X25ldmVyX2xlYWs9="
	testSig = "SharedAccessSignature sr=ns&sig=c2lnbmF0dXJlU2VjcmV0=&se=1&skn=RootManageSharedAccessKey"
)

func TestParseConnectionString(t *testing.T) {
	ok := "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" + testKey
	tests := []struct {
		name, in                           string
		err                                string // substring; "" = valid
		broker, namespace, keyName, entity string
	}{
		{name: "namespace", in: ok, broker: "myns.servicebus.windows.net:9093", namespace: "myns.servicebus.windows.net", keyName: "RootManageSharedAccessKey"},
		{name: "entity path", in: ok + ";EntityPath=pg-logs", broker: "myns.servicebus.windows.net:9093", namespace: "myns.servicebus.windows.net", keyName: "RootManageSharedAccessKey", entity: "pg-logs"},
		{name: "spaces, case, trailing semicolon", in: " endpoint = sb://myns.servicebus.windows.net ; sharedaccesskeyname=k ; SHAREDACCESSKEY=" + testKey + " ; entitypath=hub ;",
			broker: "myns.servicebus.windows.net:9093", namespace: "myns.servicebus.windows.net", keyName: "k", entity: "hub"},
		{name: "explicit port", in: "Endpoint=sb://localhost:19093/;SharedAccessKeyName=k;SharedAccessKey=" + testKey, broker: "localhost:19093", namespace: "localhost", keyName: "k"},
		{name: "signature", in: "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessSignature=" + testSig, broker: "myns.servicebus.windows.net:9093", namespace: "myns.servicebus.windows.net"},
		{name: "empty", in: "  ", err: "empty"},
		{name: "no endpoint", in: "SharedAccessKeyName=k;SharedAccessKey=" + testKey, err: "Endpoint is missing"},
		{name: "bad scheme", in: "Endpoint=https://myns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + testKey, err: "scheme must be sb://"},
		{name: "endpoint not a URL", in: "Endpoint=myns;SharedAccessKeyName=k;SharedAccessKey=" + testKey, err: "not a URL"},
		{name: "no key", in: "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=k", err: "SharedAccessKey is missing"},
		{name: "empty key", in: "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=", err: "SharedAccessKey is missing"},
		{name: "no key name", in: "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKey=" + testKey, err: "SharedAccessKeyName is missing"},
		{name: "no credentials", in: "Endpoint=sb://myns.servicebus.windows.net/", err: "SharedAccessKeyName and SharedAccessKey"},
		{name: "not key=value", in: "Endpoint=sb://myns.servicebus.windows.net/;c2VjcmV0S2V5VmFsdWVfdGhhdF9tdXN0X25ldmVy;SharedAccessKeyName=k", err: "not KEY=VALUE"},
		{name: "twice", in: ok + ";SharedAccessKey=" + testKey, err: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := ParseConnectionString(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "c2lnbmF0dXJlU2VjcmV0") {
					t.Fatalf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cs.Broker != tt.broker || cs.Namespace != tt.namespace || cs.KeyName != tt.keyName || cs.EntityPath != tt.entity {
				t.Errorf("got %+v", cs)
			}
			if cs.Raw() != tt.in {
				t.Errorf("Raw() is not the input")
			}
			s := cs.String()
			if strings.Contains(s, testKey) || strings.Contains(s, "c2lnbmF0dXJlU2VjcmV0") || !strings.Contains(s, "=***") {
				t.Errorf("String() does not mask the secret: %s", s)
			}
		})
	}
}

func TestMaskConnectionString(t *testing.T) {
	in := "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + testKey + ";EntityPath=hub"
	want := "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=***;EntityPath=hub"
	if got := MaskConnectionString(in); got != want {
		t.Errorf("got %s", got)
	}
	if got := MaskConnectionString("justasecret"); got != "***" {
		t.Errorf("got %s", got)
	}
}

func nopFeed(context.Context, []parse.Line) error { return nil }

func TestNewOptions(t *testing.T) {
	cs := "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + testKey + ";EntityPath=hub"
	s, err := New(Options{ConnectionString: cs}, nopFeed)
	if err != nil {
		t.Fatal(err)
	}
	o := s.Options()
	if len(o.Brokers) != 1 || o.Brokers[0] != "myns.servicebus.windows.net:9093" || len(o.Topics) != 1 || o.Topics[0] != "hub" ||
		!o.TLS.Enable || o.SASL.User != "$ConnectionString" || o.SASL.Password != cs || o.Group != "vigil" ||
		o.MaxPollRecords != 500 || s.Name() != "kafka" {
		t.Errorf("options %s / %+v", o, o.TLS)
	}
	if str := o.String(); strings.Contains(str, testKey) {
		t.Errorf("Options.String leaks the key: %s", str)
	}

	// Topics override EntityPath.
	s, err = New(Options{ConnectionString: cs, Topics: []string{"a", "b"}}, nopFeed)
	if err != nil || strings.Join(s.Options().Topics, ",") != "a,b" {
		t.Errorf("topics: %v %v", err, s.Options().Topics)
	}

	s, err = New(Options{Brokers: []string{"k:9092"}, Topics: []string{"t"}, SASL: SASL{User: "u", Password: "hunter2"}}, nopFeed)
	if err != nil {
		t.Fatal(err)
	}
	if str := s.Options().String(); strings.Contains(str, "hunter2") || !strings.Contains(str, "sasl_user=u") {
		t.Errorf("Options.String: %s", str)
	}

	bad := []struct {
		name string
		o    Options
		err  string
	}{
		{"no brokers", Options{Topics: []string{"t"}}, "no brokers"},
		{"no topics", Options{Brokers: []string{"k:9092"}}, "no topics"},
		{"no topics, no entity path", Options{ConnectionString: strings.TrimSuffix(cs, ";EntityPath=hub")}, "EntityPath"},
		{"bad connection string", Options{Name: "eh", ConnectionString: "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=" + testKey + ";SharedAccessKey=" + testKey}, `kafka source "eh": connection string: SharedAccessKey given twice`},
		{"connection string and sasl", Options{ConnectionString: cs, SASL: SASL{User: "u", Password: "p"}}, "exclusive"},
		{"user without password", Options{Brokers: []string{"k:9092"}, Topics: []string{"t"}, SASL: SASL{User: "u"}}, "both a user and a password"},
		{"url broker", Options{Brokers: []string{"kafka://k:9092"}, Topics: []string{"t"}}, "want host:port"},
		{"duplicate topic", Options{Brokers: []string{"k:9092"}, Topics: []string{"t", "t"}}, "twice"},
		{"start from", Options{Brokers: []string{"k:9092"}, Topics: []string{"t"}, StartFrom: "middle"}, "earliest or latest"},
		{"max poll", Options{Brokers: []string{"k:9092"}, Topics: []string{"t"}, MaxPollRecords: -1}, "negative"},
		{"ca file", Options{Brokers: []string{"k:9092"}, Topics: []string{"t"}, TLS: TLS{Enable: true, CAFile: "/nonexistent/ca.pem"}}, "/nonexistent/ca.pem"},
	}
	for _, tt := range bad {
		_, err := New(tt.o, nopFeed)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
		} else if strings.Contains(err.Error(), testKey) {
			t.Errorf("%s: error leaks the key: %v", tt.name, err)
		}
	}
	if _, err := New(Options{Brokers: []string{"k:9092"}, Topics: []string{"t"}}, nil); err == nil {
		t.Error("nil feed accepted")
	}
}

func TestSecretsMaskedInLogs(t *testing.T) {
	cs := "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + testKey + ";EntityPath=hub"
	s, err := New(Options{ConnectionString: cs}, nopFeed)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Info("config", "opts", s.Options(), "sasl", s.Options().SASL)
	log = slog.New(slog.NewTextHandler(&b, nil))
	log.Info("config", "opts", s.Options(), "sasl", s.Options().SASL)
	out := b.String() + fmt.Sprintf("%v %+v %s %v", s.Options(), s.Options(), s.Options().SASL, s.Options().SASL)
	if strings.Contains(out, testKey) || !strings.Contains(out, "***") {
		t.Errorf("secret in output: %s", out)
	}
}
