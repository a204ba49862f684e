//go:build !unix

package scan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Lock takes the state file's lock, NAME.lock, created exclusively: two
// scans never interleave their reads and writes of one state. A scan
// killed leaves it behind; the error says to remove it.
func Lock(name string) (unlock func(), err error) {
	f, err := os.OpenFile(name+".lock", os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s: %w (if none is running, remove %s.lock)", name, ErrLocked, name)
	}
	if err != nil {
		return nil, err
	}
	return func() { f.Close(); os.Remove(name + ".lock") }, nil
}
