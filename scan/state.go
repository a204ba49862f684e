package scan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// StateVersion is the version of the state file's schema.
const StateVersion = 1

// State is what an incremental scan (--state FILE) read before: each
// file's size, time and digests, and the records written for it. A file
// enters the state only once all its records are written, so that a
// scan interrupted anywhere leaves a state that names no file whose
// records are missing.
type State struct {
	Version int `json:"version"`
	// Output is the records' file and its size when the state was saved:
	// whatever a killed scan wrote past it belongs to files the state
	// does not name, and the next scan cuts it off before writing them
	// again.
	Output *Output           `json:"output,omitempty"`
	Files  map[string]*Entry `json:"files"`
}

// Output is where records went.
type Output struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// Entry is one file as it was scanned.
type Entry struct {
	Size    int64 `json:"size"`
	ModTime int64 `json:"mtime_ns"`
	// Head and Tail are SHA-256 digests of the file's first and last
	// DigestBlock bytes (the whole file when smaller): a file renamed
	// over or rewritten in place with the same size is told apart, and a
	// file that grew is known by its old tail, still where it was.
	Head string `json:"head"`
	Tail string `json:"tail"`
	// Records is the number of records written for the file; LastFrame
	// the frame of the last one (0: none). When the file grows, the
	// records of frames after it are written, and only those.
	Records   int64 `json:"records"`
	LastFrame int64 `json:"last_frame,omitempty"`
	// NotCapture marks a file that is no capture; Damage says where a
	// damaged one stopped being readable.
	NotCapture bool   `json:"not_capture,omitempty"`
	Damage     string `json:"damage,omitempty"`
}

// DigestBlock is the size of the blocks Entry's digests cover.
const DigestBlock = 64 << 10

// LoadState reads a state file; one that does not exist is an empty
// state.
func LoadState(name string) (*State, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: StateVersion, Files: map[string]*Entry{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: not a state file of rstwhy scan: %v", name, err)
	}
	if s.Version != StateVersion {
		return nil, fmt.Errorf("%s: state file version %d, this rstwhy reads %d", name, s.Version, StateVersion)
	}
	if s.Files == nil {
		s.Files = map[string]*Entry{}
	}
	return &s, nil
}

// Save writes the state atomically: to a temporary file beside it,
// synced, then renamed over it (rename(2) replaces in one step), and the
// folder synced so that the rename itself survives a crash. A reader
// sees the old state or the new, never a part.
func (s *State) Save(name string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing to remove
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not every system syncs a folder; the rename is done either way
		d.Close()
	}
	return nil
}

// Verdict is what a scan does with a file it finds.
type Verdict int

const (
	// New: not in the state; every record is written.
	New Verdict = iota
	// Unchanged: same size, time or digests: not read.
	Unchanged
	// Grown: the same bytes and more after them (a capture still being
	// written): read whole, the records after LastFrame written.
	Grown
	// Replaced: other bytes under the same name: read, every record
	// written.
	Replaced
)

func (v Verdict) String() string {
	return [...]string{"new", "unchanged", "grown", "replaced"}[v]
}

// Check says what to do with f. Same size and modification time is
// unchanged without a read (what rsync and make trust); otherwise the
// digests decide: the head and the old tail where they were mean the same
// file, unchanged or grown.
func (s *State) Check(key string, f File) (Verdict, *Entry, error) {
	e := s.Files[key]
	if e == nil {
		return New, nil, nil
	}
	if f.Size == e.Size && f.ModTime == e.ModTime {
		return Unchanged, e, nil
	}
	if f.Size < e.Size {
		return Replaced, e, nil
	}
	head, tail, err := Digests(f.Path, e.Size)
	if err != nil {
		return New, e, err
	}
	switch {
	case head != e.Head || tail != e.Tail:
		return Replaced, e, nil
	case f.Size == e.Size:
		return Unchanged, e, nil
	}
	return Grown, e, nil
}

// Digests returns the SHA-256 of the first DigestBlock bytes of the file
// and of the DigestBlock bytes that end at size.
func Digests(name string, size int64) (head, tail string, err error) {
	f, err := os.Open(name)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	block := func(off, n int64) (string, error) {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	if head, err = block(0, min(size, DigestBlock)); err != nil {
		return "", "", err
	}
	off := max(0, size-DigestBlock)
	if tail, err = block(off, size-off); err != nil {
		return "", "", err
	}
	return head, tail, nil
}

// ErrLocked is returned by Lock when another scan holds the state file.
var ErrLocked = errors.New("another rstwhy scan is using this state file")
