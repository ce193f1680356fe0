package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/vigildb/vigil/config"
)

// NDJSON appends one AlertDocument per line to a file (synced before the
// delivery counts as sent) or writes it to standard output.
type ndjsonNotifier struct {
	mu   sync.Mutex
	path string
	out  io.Writer // stdout when path is "-"
}

func init() {
	Register(config.NotifierNDJSON, func(c config.Notifier, env Env) (Notifier, error) {
		n := &ndjsonNotifier{path: c.Path}
		if c.Path == "" || c.Path == "-" {
			n.out = os.Stdout
		}
		return n, nil
	}, KindResolve, KindAck)
}

func (n *ndjsonNotifier) Send(ctx context.Context, m *Message) error {
	line, err := json.Marshal(document(m))
	if err != nil {
		return permanent("ndjson: encode: %v", err)
	}
	line = append(line, '\n')
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.out != nil {
		_, err := n.out.Write(line)
		return err
	}
	// Opened per message: rotation tools may move the file away at any time.
	f, err := os.OpenFile(n.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("ndjson: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("ndjson: write %s: %w", n.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("ndjson: sync %s: %w", n.path, err)
	}
	return f.Close()
}
