package scan

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// File is one file found to scan.
type File struct {
	// Path opens it: the root joined with the path below it, or the path
	// as given. Records name their capture so.
	Path string
	// Rel is the path relative to the folder it was found under, with
	// forward slashes; for a file given by name, its path as given,
	// cleaned. Shards are taken by its hash, so that tasks given the same
	// roots on different machines (where the archive is mounted
	// elsewhere) agree.
	Rel     string
	Size    int64
	ModTime int64 // nanoseconds since 1970
}

// Walker lists the files under paths. The zero value takes every
// regular file.
type Walker struct {
	// Include, when not empty, keeps only the files that match one of
	// its globs; Exclude drops files and folders that match one of its.
	// A glob with a slash matches the path relative to the root
	// (path.Match: a star does not cross a slash), one without, the
	// base name.
	Include, Exclude []string
}

// Check reports the first glob that path.Match refuses.
func (w Walker) Check() error {
	for _, g := range append(append([]string(nil), w.Include...), w.Exclude...) {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("glob %q: %w", g, err)
		}
	}
	return nil
}

func matches(globs []string, rel string) bool {
	base := path.Base(rel)
	for _, g := range globs {
		subject := base
		if strings.Contains(g, "/") {
			subject = rel
		}
		if ok, _ := path.Match(g, subject); ok {
			return true
		}
	}
	return false
}

// Problem is a path that could not be listed: it does not exist, or a
// folder could not be read. The walk goes on past it.
type Problem struct {
	Path string
	Err  error
}

func (p Problem) Error() string { return fmt.Sprintf("%s: %v", p.Path, p.Err) }

// Walk calls fn for each file under roots, in order: the roots in the
// order given, each folder's entries in lexical order (filepath.WalkDir),
// so that the order never depends on the file system. A root that is a
// file is taken whatever the globs say, except Exclude; a folder is
// walked recursively, symbolic links to files followed, to folders not
// (a loop would never end). Paths met twice are taken once. fn returning
// an error stops the walk with it; problems with paths are passed to
// problem and the walk goes on.
func (w Walker) Walk(roots []string, fn func(File) error, problem func(Problem)) error {
	seen := map[string]bool{}
	for _, root := range roots {
		if err := w.walkRoot(root, seen, fn, problem); err != nil {
			return err
		}
	}
	return nil
}

func (w Walker) walkRoot(root string, seen map[string]bool, fn func(File) error, problem func(Problem)) error {
	fi, err := os.Stat(root)
	if err != nil {
		problem(Problem{root, errors.Unwrap(err)})
		return nil
	}
	if !fi.IsDir() {
		rel := filepath.ToSlash(filepath.Clean(root))
		if matches(w.Exclude, rel) || seen[filepath.Clean(root)] {
			return nil
		}
		seen[filepath.Clean(root)] = true
		if !fi.Mode().IsRegular() {
			problem(Problem{root, errors.New("not a regular file")})
			return nil
		}
		return fn(File{Path: root, Rel: rel, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()})
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problem(Problem{p, unwrapPath(err)})
			if d != nil && d.IsDir() && p != root {
				return fs.SkipDir
			}
			return nil
		}
		if p == root {
			return nil
		}
		r, _ := filepath.Rel(root, p)
		rel := filepath.ToSlash(r)
		if matches(w.Exclude, rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if len(w.Include) > 0 && !matches(w.Include, rel) {
			return nil
		}
		if seen[filepath.Clean(p)] {
			return nil
		}
		seen[filepath.Clean(p)] = true
		fi, err := os.Stat(p) // follows a link to a file
		if err != nil {
			problem(Problem{p, unwrapPath(err)})
			return nil
		}
		if !fi.Mode().IsRegular() {
			// A FIFO or a socket in an archive is nobody's capture; a
			// link to a folder is not followed.
			return nil
		}
		return fn(File{Path: p, Rel: rel, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()})
	})
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ReadList reads paths one a line (what `find` prints, or a mapper's
// input split): blank lines are skipped, and a line ending in \r\n loses
// the \r. A line is a path as it is, spaces included.
func ReadList(r io.Reader) ([]string, error) {
	var paths []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line != "" {
			paths = append(paths, line)
		}
	}
	return paths, sc.Err()
}
