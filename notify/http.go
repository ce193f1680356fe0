package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// httpClient is shared by the HTTP notifiers; each attempt's context
// carries the notifier's timeout. Redirects are not followed: a webhook
// that redirects is misconfigured, and following it would send the
// payload (and its signature) elsewhere.
var httpClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	},
}

// post sends body to rawURL and classifies the answer: 2xx is success;
// 408, 425, 429 and 5xx are retried (with the Retry-After the receiver
// gave); other statuses are permanent. Errors never contain the URL's
// path or query (Slack and Teams URLs are secrets): only RedactURL(rawURL).
func post(ctx context.Context, rawURL string, body []byte, header http.Header) (*http.Response, []byte, error) {
	where := RedactURL(rawURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, nil, permanent("POST %s: bad request", where)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, fmt.Errorf("POST %s: no answer within the timeout", where)
		}
		return nil, nil, fmt.Errorf("POST %s: %v", where, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, rb, nil
	}
	text := strings.TrimSpace(string(rb))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	se := &SendError{Status: resp.StatusCode, Err: fmt.Errorf("POST %s: %s %s", where, resp.Status, text)}
	switch c := resp.StatusCode; {
	case c == 408 || c == 425 || c == 429 || c >= 500:
		se.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	default:
		se.Permanent = true
	}
	return resp, rb, se
}

// parseRetryAfter reads Retry-After: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func userAgent(version string) string { return "Vigil/" + version }
