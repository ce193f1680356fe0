package azure

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Detect scores the first bytes of an input: 90 for a {"records":[ ...
// envelope, 80 for a first record (one per line, possibly wrapped in [ ])
// whose top-level keys include "category" and "resourceId" or
// "operationName" (case-insensitive). Only top-level keys count: Vigil's
// own events have a nested "category" (event.category) and are not
// claimed, nor are PostgreSQL jsonlog lines or MySQL audit JSON.
func Detect(head []byte) int {
	b := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(b) > 0 && b[0] == '[' {
		b = bytes.TrimLeft(b[1:], " \t\r\n")
	}
	if len(b) == 0 || b[0] != '{' {
		return 0
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0
	}
	var category, resource, operation, time bool
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, ok := t.(string)
		if !ok {
			break
		}
		switch strings.ToLower(key) {
		case "records":
			if t, err := dec.Token(); err == nil && t == json.Delim('[') {
				return 90
			}
			return 0
		case "category":
			category = true
		case "resourceid":
			resource = true
		case "operationname":
			operation = true
		case "time", "timegenerated", "eventtimestamp":
			time = true
		}
		if category && (resource || operation) && time {
			return 80
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			break // cut head: decide on the keys seen
		}
	}
	if category && (resource || operation) {
		return 80
	}
	return 0
}
