package scan

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  bool
	}{
		{"1/1", Shard{1, 1}, false},
		{"3/8", Shard{3, 8}, false},
		{"8/8", Shard{8, 8}, false},
		{"0/8", Shard{}, true},
		{"9/8", Shard{}, true},
		{"1/0", Shard{}, true},
		{"-1/3", Shard{}, true},
		{"2", Shard{}, true},
		{"a/b", Shard{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseShard(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestAutoShard: each runner's variables give the task's share, 1-based.
func TestAutoShard(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		count int
		want  Shard
		err   string
	}{
		{"kubernetes", map[string]string{"JOB_COMPLETION_INDEX": "0"}, 4, Shard{1, 4}, ""},
		{"kubernetes last", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 4, Shard{4, 4}, ""},
		{"kubernetes no count", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 0, Shard{}, "--shard-count"},
		{"kubernetes out of range", map[string]string{"JOB_COMPLETION_INDEX": "4"}, 4, Shard{}, "out of a count of 4"},
		{"slurm from 1", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "5"}, 0, Shard{1, 5}, ""},
		{"slurm from 0", map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "5"}, 0, Shard{5, 5}, ""},
		{"slurm count given", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "5"}, 3, Shard{3, 3}, ""},
		{"slurm no min", map[string]string{"SLURM_ARRAY_TASK_ID": "2"}, 0, Shard{}, "SLURM_ARRAY_TASK_MIN"},
		{"aws", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "7", "AWS_BATCH_JOB_ARRAY_SIZE": "10"}, 0, Shard{8, 10}, ""},
		{"aws not a number", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "x", "AWS_BATCH_JOB_ARRAY_SIZE": "10"}, 0, Shard{}, "not a number"},
		{"none", nil, 0, Shard{}, "give --shard K/N"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AutoShard(func(k string) string { return tc.env[k] }, tc.count)
			if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("got %v, %v; want %v, an error with %q", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestShardPartition: every path is in exactly one of N shards, and the
// shares are about even.
func TestShardPartition(t *testing.T) {
	const files = 30000
	for _, n := range []int{1, 2, 3, 7, 64} {
		counts := make([]int, n)
		for i := range files {
			key := fmt.Sprintf("eth%d/2026%04d-%06d.pcap.gz", i%4, i%1231, i)
			in := 0
			for k := 1; k <= n; k++ {
				if (Shard{k, n}).Has(key) {
					in++
					counts[k-1]++
				}
			}
			if in != 1 {
				t.Fatalf("N=%d: %s is in %d shards", n, key, in)
			}
		}
		for k, c := range counts {
			if even := files / n; c < even*8/10 || c > even*12/10 {
				t.Errorf("N=%d: shard %d has %d files, far from %d", n, k+1, c, even)
			}
		}
	}
}
