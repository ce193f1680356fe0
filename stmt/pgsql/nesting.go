package pgsql

import "github.com/vigildb/vigil/stmt/lex"

// nestingDepth estimates, lexically, how deep the parse tree of src nests.
//
// Why: libpg_query converts its tree to protobuf recursively in C. A long
// left-deep chain such as SELECT 1+1+1+...+1 (about 20,000 terms with an
// 8 MiB thread stack, 3,000 with 1 MiB) overflows the stack and kills the
// process with SIGSEGV; no recover can catch that. Parentheses alone are
// safe (bison gives up at 10,000 with "memory exhausted"), but operator
// chains, JOIN chains, UNION chains, NOT/IS/COLLATE chains and casts are not.
//
// The estimate over-approximates: at each parenthesis level it counts the
// binary operators and chain keywords since the last separator (comma,
// AND/OR and clause keywords reset it; set operations and joins are only
// reset by a semicolon), adds two per open parenthesis, and in blocks mode
// (PL/pgSQL bodies) three per open BEGIN/IF/LOOP/CASE block. It stops early
// once limit is exceeded.
func nestingDepth(src string, blocks bool, limit int) int {
	type level struct{ expr, set int }
	var stackBuf [16]level
	stack := append(stackBuf[:0], level{})
	sum, maxSum, blockDepth := 0, 0, 0
	lx := lex.New(src)
	afterEnd := false
	for {
		t := lx.Next()
		if t.Kind == lex.EOF {
			break
		}
		top := &stack[len(stack)-1]
		switch t.Kind {
		case lex.Comment:
			continue
		case lex.Punct:
			switch src[t.Start] {
			case '(', '[':
				stack = append(stack, level{})
				sum += 2
			case ')', ']':
				if len(stack) > 1 {
					l := stack[len(stack)-1]
					sum -= 2 + l.expr + l.set
					stack = stack[:len(stack)-1]
				}
			case ',':
				sum -= top.expr
				top.expr = 0
			case ';':
				stack = append(stack[:0], level{})
				sum = 0
			case ':':
				if t.End-t.Start == 2 && src[t.Start+1] == ':' {
					top.expr++
					sum++
				}
			}
		case lex.Op:
			top.expr++
			sum++
		case lex.Word:
			w := src[t.Start:t.End]
			if len(w) > 12 {
				break
			}
			var b [12]byte
			for i := 0; i < len(w); i++ {
				c := w[i]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				b[i] = c
			}
			switch string(b[:len(w)]) {
			case "union", "intersect", "except", "join":
				top.set++
				sum++
			case "is", "isnull", "notnull", "like", "ilike", "similar", "between", "collate", "at", "not",
				"overlaps", "escape", "in", "operator":
				top.expr++
				sum++
			case "and", "or", "select", "from", "where", "then", "else", "when", "values", "set", "on",
				"using", "group", "order", "having", "limit", "offset", "returning", "by", "as", "into":
				sum -= top.expr
				top.expr = 0
			case "case":
				if !afterEnd {
					blockDepth++
				}
			case "begin", "loop", "if":
				if blocks && !afterEnd {
					blockDepth++
				}
			case "end":
				if blockDepth > 0 {
					blockDepth--
				}
				afterEnd = true
				continue
			}
		}
		afterEnd = false
		if d := sum + 3*blockDepth; d > maxSum {
			maxSum = d
			if maxSum > limit {
				return maxSum
			}
		}
	}
	return maxSum
}
