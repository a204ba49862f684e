package testcap

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Golden compares got with the file at path, or, with update, writes it
// there (its folder made as needed). pkg names the package whose
// -update rewrites it, for the message.
func Golden(tb testing.TB, path, got string, update bool, pkg string) {
	tb.Helper()
	if update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (go test %s -update writes it)", err, pkg)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("%s differs (-want +got); go test %s -update rewrites it:\n%s", path, pkg, diff)
	}
}
