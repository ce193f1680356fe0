package posture

import (
	"net/url"
	"regexp"
	"strings"
)

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// MaskDSN removes the password from a connection string, URL form
// (postgres://u:secret@h/db, mysql://…) or key=value form, so it can be
// printed. Unparseable input is masked wholesale after the scheme.
func MaskDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			scheme, _, _ := strings.Cut(dsn, "://")
			return scheme + "://(unparseable DSN)"
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
		}
		q := u.Query()
		changed := false
		for k := range q {
			if strings.EqualFold(k, "password") {
				q.Set(k, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
		s := u.String()
		return strings.Replace(s, "xxxxx@", "*****@", 1)
	}
	return kvPassword.ReplaceAllString(dsn, "${1}*****")
}

// Redact replaces every occurrence of secret in s (an error message from a
// driver, say) with *****.
func Redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "*****")
}
