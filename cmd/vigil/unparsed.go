package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/store"
)

func newEventsUnparsedCmd(dir *string) *cobra.Command {
	var format, source string
	var limit int
	cmd := &cobra.Command{
		Use:   "unparsed",
		Short: "Show the quarantined input lines no parser understood",
		Long: `The live daemon keeps every line it could not parse (malformed, cut, binary
garbage, or a log_line_prefix that does not match) in a quarantine in the
store, masked and cut to 4 KiB, with the file and line it came from. Nothing
else of the input is lost because of them. Newest first; non-printable bytes
are shown as \xNN in the table.`,
		Example: `  vigil events unparsed --data-dir ./vigil-data
  vigil events unparsed --source pg --limit 0 --format ndjson`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			stdout := cmd.OutOrStdout()
			f, err := outputFormat(format, stdout)
			if err != nil {
				return err
			}
			n, err := limitArg(limit)
			if err != nil {
				return err
			}
			st, err := openExistingStore(*dir)
			if err != nil {
				return err
			}
			defer st.Close()
			qs, err := st.ListQuarantine(cmd.Context(), source, n)
			if err != nil {
				return err
			}
			if f == "json" || f == "ndjson" {
				if qs == nil {
					qs = []store.Quarantined{}
				}
				return writeJSON(stdout, f, qs)
			}
			return writeUnparsedTable(stdout, qs)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&source, "source", "", "only lines of this source.name")
	fl.StringVar(&format, "format", "", "output format: table, json, ndjson (default: table on a terminal, ndjson otherwise)")
	fl.IntVar(&limit, "limit", 100, "at most this many lines (0 = all)")
	return cmd
}

func writeUnparsedTable(w io.Writer, qs []store.Quarantined) error {
	if len(qs) == 0 {
		_, err := fmt.Fprintln(w, "no unparsed lines")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tFILE:LINE\tSIZE\tREASON\tTEXT")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%s:%d\t%d\t%s\t%s\n", q.Source, q.File, q.Line, q.Size, clip(q.Reason, 60), clip(printable(q.Data), 80))
	}
	return tw.Flush()
}

// printable shows bytes as text, with invalid UTF-8 and control bytes as \xNN.
func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 || r < 0x20 || r == 0x7f {
			out = append(out, `\x`...)
			out = append(out, fmt.Sprintf("%02x", b[0])...)
			b = b[1:]
			continue
		}
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return string(out)
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
