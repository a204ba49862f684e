//go:build unix

package scan

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Lock takes the state file's lock, NAME.lock, for the scan's whole run:
// two scans never interleave their reads and writes of one state. The
// lock is flock(2)'s: the kernel lets it go when the process ends, however
// it ends, so that a killed scan leaves nothing to clean up.
func Lock(name string) (unlock func(), err error) {
	f, err := os.OpenFile(name+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if err == unix.EWOULDBLOCK {
			return nil, fmt.Errorf("%s: %w", name, ErrLocked)
		}
		return nil, fmt.Errorf("%s.lock: %w", name, err)
	}
	return func() { f.Close() }, nil
}
