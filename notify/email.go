package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"

	"github.com/wneessen/go-mail"

	"github.com/vigildb/vigil/config"
)

// Email sends a multipart/alternative message (plain text and HTML) over
// SMTP with STARTTLS (default, port 587), implicit TLS (port 465) or no
// TLS (loopback relays only, unless insecure: true), with SMTP AUTH when
// a username is set. Message-ID is derived from the delivery id, so a
// re-sent delivery is the same message to mail clients.
type emailNotifier struct {
	c       config.Notifier
	tlsConf *tls.Config
}

func init() {
	Register(config.NotifierEmail, func(c config.Notifier, env Env) (Notifier, error) {
		tc, err := tlsConfig(c.CAFile, c.ServerName, c.Host)
		if err != nil {
			return nil, err
		}
		return &emailNotifier{c: c, tlsConf: tc}, nil
	})
}

var emailHTML = htmltemplate.Must(htmltemplate.New("mail").Parse(`<!DOCTYPE html>
<html><body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; color: #1d1d1f;">
<h2 style="margin-bottom: 4px;">{{.Headline}}</h2>
<p style="color: #555; margin-top: 0;">{{.Summary}}</p>
<table style="border-collapse: collapse;">
{{range .Facts}}<tr><td style="padding: 2px 12px 2px 0; color: #555; vertical-align: top;">{{.Name}}</td><td style="padding: 2px 0;">{{.Value}}</td></tr>
{{end}}</table>
{{if .Evidence}}<h3>Evidence (masked)</h3>
{{range .Evidence}}<pre style="background: #f4f4f4; padding: 6px; white-space: pre-wrap;">{{.}}</pre>
{{end}}{{if .More}}<p>… and {{.More}} more in Vigil.</p>{{end}}{{end}}
{{if .Desc}}<h3>What it means</h3><p>{{.Desc}}</p>{{end}}
{{if .Impact}}<h3>Impact</h3><p>{{.Impact}}</p>{{end}}
{{if .Mitig}}<h3>What to do</h3><p>{{.Mitig}}</p>{{end}}
{{if .Link}}<p><a href="{{.Link}}">Open the alert in Vigil</a></p>{{end}}
<p style="color: #888; font-size: small;">{{.Footer}}</p>
</body></html>
`))

func emailText(c content) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n\n", c.Headline, c.Summary)
	for _, f := range c.Facts {
		fmt.Fprintf(&b, "%-20s %s\n", f.Name+":", f.Value)
	}
	if len(c.Evidence) > 0 {
		b.WriteString("\nEvidence (masked):\n")
		for _, e := range c.Evidence {
			fmt.Fprintf(&b, "  %s\n", e)
		}
		if c.More > 0 {
			fmt.Fprintf(&b, "  … and %d more in Vigil\n", c.More)
		}
	}
	for _, s := range []struct{ name, text string }{{"What it means", c.Desc}, {"Impact", c.Impact}, {"What to do", c.Mitig}} {
		if s.text != "" {
			fmt.Fprintf(&b, "\n%s:\n%s\n", s.name, s.text)
		}
	}
	if c.Link != "" {
		fmt.Fprintf(&b, "\nOpen the alert: %s\n", c.Link)
	}
	fmt.Fprintf(&b, "\n-- \n%s\n", c.Footer)
	return b.String()
}

func (n *emailNotifier) message(m *Message) (*mail.Msg, error) {
	c := buildContent(m)
	msg := mail.NewMsg()
	if err := msg.From(n.c.From); err != nil {
		return nil, permanent("email: from %q: %v", n.c.From, err)
	}
	if err := msg.To(n.c.To...); err != nil {
		return nil, permanent("email: to: %v", err)
	}
	subject := c.Headline
	if where := m.Alert.Entity.Server; where != "" {
		subject += " on " + where
	}
	if n.c.SubjectPrefix != "" {
		subject = n.c.SubjectPrefix + " " + subject
	}
	msg.Subject(truncate(subject, 200))
	domain := "vigil.invalid"
	if _, d, ok := strings.Cut(n.c.From, "@"); ok {
		domain = strings.Trim(d, "> ")
	}
	msg.SetMessageIDWithValue(m.DeliveryID + "@" + domain)
	msg.SetDateWithValue(m.Time)
	msg.SetGenHeader("X-Vigil-Delivery", m.DeliveryID)
	msg.SetGenHeader("X-Vigil-Alert", m.Alert.ID)
	var html bytes.Buffer
	if err := emailHTML.Execute(&html, c); err != nil {
		return nil, permanent("email: render: %v", err)
	}
	msg.SetBodyString(mail.TypeTextPlain, emailText(c))
	msg.AddAlternativeString(mail.TypeTextHTML, html.String())
	return msg, nil
}

func (n *emailNotifier) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(n.c.Port), mail.WithTLSConfig(n.tlsConf)}
	if dl := n.c.Timeout; dl > 0 {
		opts = append(opts, mail.WithTimeout(dl))
	}
	switch n.c.TLSMode {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if n.c.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(n.c.Username),
			mail.WithPassword(n.c.Password.Value()))
	}
	return mail.NewClient(n.c.Host, opts...)
}

func (n *emailNotifier) Send(ctx context.Context, m *Message) error {
	msg, err := n.message(m)
	if err != nil {
		return err
	}
	cl, err := n.client()
	if err != nil {
		return permanent("email: %v", err)
	}
	err = cl.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	text := scrub(err.Error(), n.c.Password.Value())
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.Reason != mail.ErrConnCheck && se.Reason != mail.ErrSMTPMailFrom {
		return &SendError{Err: fmt.Errorf("email via %s:%d: %s", n.c.Host, n.c.Port, text), Permanent: true}
	}
	return fmt.Errorf("email via %s:%d: %s", n.c.Host, n.c.Port, text)
}
