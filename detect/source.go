package detect

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Source is one place rule files come from: an fs.FS (the embedded
// built-in pack) or a file or directory on disk (the user's rules).
// Sources are applied in order; within a directory or FS, files are read
// in lexical order of their paths, and only *.yaml and *.yml files are read.
//
// Name is how the files of an FS source are named in positions and in
// `vigil rules show`: Name + "/" + path in the FS (e.g. "builtin/auth.yaml").
// Files on disk are named by their path as given.
type Source struct {
	Name string
	FS   fs.FS  // when set, every rule file in it
	Path string // otherwise a rule file, or a directory of them
}

// FSSource is a Source reading every rule file of fsys.
func FSSource(name string, fsys fs.FS) Source { return Source{Name: name, FS: fsys} }

// PathSource is a Source reading a rule file, or every rule file under a
// directory.
func PathSource(path string) Source { return Source{Path: path} }

// PathSources turns user paths (files or directories) into sources.
func PathSources(paths ...string) []Source {
	out := make([]Source, len(paths))
	for i, p := range paths {
		out[i] = PathSource(p)
	}
	return out
}

type ruleFile struct {
	name string
	data []byte
}

func isRuleFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// files reads the source's rule files. A read error is reported against
// the path that failed.
func (s Source) files() ([]ruleFile, *Error) {
	if s.FS != nil {
		var out []ruleFile
		err := fs.WalkDir(s.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !isRuleFile(p) {
				return nil
			}
			data, err := fs.ReadFile(s.FS, p)
			if err != nil {
				return err
			}
			name := p
			if s.Name != "" {
				name = path.Join(s.Name, p)
			}
			out = append(out, ruleFile{name: name, data: data})
			return nil
		})
		if err != nil {
			return out, &Error{Pos: Pos{File: s.Name}, Msg: err.Error()}
		}
		return out, nil
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		return nil, &Error{Pos: Pos{File: s.Path}, Msg: "cannot read rules: " + errText(err)}
	}
	if !fi.IsDir() {
		data, err := os.ReadFile(s.Path)
		if err != nil {
			return nil, &Error{Pos: Pos{File: s.Path}, Msg: "cannot read rules: " + errText(err)}
		}
		return []ruleFile{{name: s.Path, data: data}}, nil
	}
	var out []ruleFile
	err = filepath.WalkDir(s.Path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isRuleFile(p) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, ruleFile{name: p, data: data})
		return nil
	})
	if err != nil {
		return out, &Error{Pos: Pos{File: s.Path}, Msg: "cannot read rules: " + errText(err)}
	}
	return out, nil
}

// errText drops the "op path:" prefix of a *fs.PathError, since the
// position already names the file.
func errText(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
