package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// needTool finds a program the test needs: under CI (CI=true) .ci/run
// installs it and its absence fails the test, elsewhere it skips.
func needTool(t *testing.T, name, install string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s missing under CI (.ci/run installs it): %v", name, err)
	}
	t.Skipf("%s missing (%s): %v", name, install, err)
}

// TestScanShardsParallelDuckDB runs the three shards of an archive as
// three processes through GNU parallel, as a job array would, each
// writing Parquet into one folder; DuckDB then reads the folder's Hive
// partitions and counts the rows and causes of the unsharded scan's
// records, no more, no fewer.
func TestScanShardsParallelDuckDB(t *testing.T) {
	par, err := exec.LookPath("parallel")
	needTool(t, "GNU parallel", "apt-get install parallel", err)
	script, _ := filepath.Abs("../../.ci/node/parquet-totals.mjs")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "@duckdb", "node-api"))
	}
	needTool(t, "node and @duckdb/node-api", "npm install --prefix .ci/node", err)

	root, _ := archive(t)
	whole, _, code := rstwhy(t, nil, "scan", "--summary", "none", root)
	if code != exitOK {
		t.Fatalf("unsharded scan: exit %d", code)
	}
	want := struct {
		Rows   int64            `json:"rows"`
		Causes map[string]int64 `json:"causes"`
	}{Causes: map[string]int64{}}
	for _, r := range records(t, whole) {
		want.Rows++
		want.Causes[r.Cause]++
	}

	dir := filepath.Join(t.TempDir(), "resets")
	// The test binary is the command when RSTWHY_TEST_MAIN is set
	// (TestMain); parallel passes the environment on.
	// parallel replaces {} in its command, not in the environment: each
	// job sets its own with env (--quote: each argument stays one).
	cmd := exec.Command(par, "--quote", "--halt", "now,fail=1",
		"env", "RSTWHY_TEST_MAIN=scan --shard {}/3 -j 1 -f parquet --summary none -o "+dir+" "+root,
		os.Args[0], "-test.run=^$", ":::", "1", "2", "3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("parallel: %v\n%s", err, stderr.String())
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "date=*", "part-*-of-3.parquet"))
	shards := map[string]bool{}
	for _, p := range parts {
		shards[strings.Split(filepath.Base(p), "-")[1]] = true
	}
	// A shard whose files hold no reset writes no file.
	if len(shards) < 2 {
		t.Errorf("files of shards %v, want the records spread over several: %v", shards, parts)
	}
	out, err := exec.Command(node, script, dir).Output()
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	var got struct {
		Rows   int64            `json:"rows"`
		Causes map[string]int64 `json:"causes"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("DuckDB's answer %q: %v", out, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DuckDB over the shards' Parquet against the unsharded records (-want +got):\n%s", diff)
	}
}
