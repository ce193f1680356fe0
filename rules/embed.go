// Package rules holds Vigil's built-in detection rule pack and its fixtures,
// embedded in the binary.
//
// Builtin is the rule pack: one YAML file per area (auth.yaml, ddl.yaml, ...)
// plus lists.yaml, the named lists the rules share and users extend
// (admin_users, attack_tools, privileged_roles, ...). Every rule carries a
// stable id from SPEC §3; the file format is described in docs/rules.md.
//
// Tests are the fixtures of the pack (`vigil rules test`): for every rule at
// least one input that must raise it and one that must not, written as the
// PostgreSQL log lines that would reach Vigil.
package rules

import (
	"embed"
	"io/fs"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

//go:embed tests/*.yaml
var testsFS embed.FS

// Builtin is the built-in rule pack; names are like "auth.yaml".
var Builtin fs.FS = mustSub(builtinFS, "builtin")

// Tests holds the fixtures of the built-in pack; names are like "auth.yaml".
var Tests fs.FS = mustSub(testsFS, "tests")

func mustSub(f embed.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant that the embed directive guarantees
	}
	return sub
}
