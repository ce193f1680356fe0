package kafka

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// EventHubsUser is the SASL PLAIN user name Azure Event Hubs expects when the
// password is a connection string.
const EventHubsUser = "$ConnectionString"

// eventHubsPort is the port of Event Hubs' Kafka endpoint.
const eventHubsPort = "9093"

// ConnectionString is a parsed Azure Event Hubs connection string:
//
//	Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=NAME;SharedAccessKey=KEY[;EntityPath=HUB]
//
// (SharedAccessSignature=... may replace the key name and key). Its String
// method masks the secret; Raw returns the string as given, which is the
// SASL PLAIN password.
type ConnectionString struct {
	Endpoint   string // "sb://NAMESPACE.servicebus.windows.net/"
	Namespace  string // "NAMESPACE.servicebus.windows.net"
	Broker     string // the Kafka endpoint: Namespace + ":9093" (or the endpoint's own port)
	KeyName    string // SharedAccessKeyName
	EntityPath string // the event hub (Kafka topic), "" when absent

	raw string
}

// Raw is the connection string as given (it contains the secret).
func (c ConnectionString) Raw() string { return c.raw }

// String is the connection string with the secret masked.
func (c ConnectionString) String() string { return MaskConnectionString(c.raw) }

// secretKeys are the connection-string parts whose values are secrets.
var secretKeys = map[string]bool{
	"sharedaccesskey":       true,
	"sharedaccesssignature": true,
}

// MaskConnectionString replaces the values of the secret parts of a
// connection string (SharedAccessKey, SharedAccessSignature) with "***", so
// it can be logged. Anything that does not look like KEY=VALUE is masked as a
// whole.
func MaskConnectionString(s string) string {
	parts := strings.Split(s, ";")
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			parts[i] = "***"
			continue
		}
		if secretKeys[strings.ToLower(strings.TrimSpace(k))] {
			parts[i] = k + "=***"
		}
	}
	return strings.Join(parts, ";")
}

// ParseConnectionString parses an Event Hubs connection string. Errors name
// the part at fault but never contain a secret.
func ParseConnectionString(s string) (ConnectionString, error) {
	c := ConnectionString{raw: s}
	s = strings.TrimSpace(s)
	if s == "" {
		return c, errors.New("connection string is empty")
	}
	var key, sig bool
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return c, errors.New("connection string: a part is not KEY=VALUE")
		}
		lk := strings.ToLower(k)
		if seen[lk] {
			return c, fmt.Errorf("connection string: %s given twice", k)
		}
		seen[lk] = true
		switch lk {
		case "endpoint":
			c.Endpoint = v
		case "sharedaccesskeyname":
			c.KeyName = v
		case "sharedaccesskey":
			key = v != ""
		case "sharedaccesssignature":
			sig = v != ""
		case "entitypath":
			c.EntityPath = v
		}
		// Other parts (UseDevelopmentEmulator, ...) are passed through in
		// the password, as Event Hubs reads them.
	}
	if c.Endpoint == "" {
		return c, errors.New("connection string: Endpoint is missing")
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" {
		return c, fmt.Errorf("connection string: Endpoint %q is not a URL like sb://NAMESPACE.servicebus.windows.net/", c.Endpoint)
	}
	if u.Scheme != "sb" {
		return c, fmt.Errorf("connection string: Endpoint %q: scheme must be sb://", c.Endpoint)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return c, fmt.Errorf("connection string: Endpoint %q has no host", c.Endpoint)
	}
	if port == "" {
		port = eventHubsPort
	}
	c.Namespace, c.Broker = host, net.JoinHostPort(host, port)
	switch {
	case sig:
	case !key && c.KeyName == "":
		return c, errors.New("connection string: SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature) are missing")
	case !key:
		return c, errors.New("connection string: SharedAccessKey is missing or empty")
	case c.KeyName == "":
		return c, errors.New("connection string: SharedAccessKeyName is missing or empty")
	}
	return c, nil
}
