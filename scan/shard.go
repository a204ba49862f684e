package scan

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is task K of N (K from 1): it takes the files whose path hashes
// to it. The zero value takes every file.
type Shard struct{ K, N int }

// ParseShard reads "K/N", 1 ≤ K ≤ N.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("--shard %q: want K/N, like 2/8, or auto", s)
	}
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil || ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("--shard %q: want K/N with 1 ≤ K ≤ N, like 2/8", s)
	}
	return Shard{ki, ni}, nil
}

// AutoShard reads the task's index and count from the environment of a
// job array's runner: Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX,
// from 0; the count is not in the environment, so count must give it),
// Slurm arrays (SLURM_ARRAY_TASK_ID less SLURM_ARRAY_TASK_MIN, and
// SLURM_ARRAY_TASK_COUNT) and AWS Batch array jobs
// (AWS_BATCH_JOB_ARRAY_INDEX, AWS_BATCH_JOB_ARRAY_SIZE). count, when
// above 0, is the count whatever the environment says.
func AutoShard(getenv func(string) string, count int) (Shard, error) {
	num := func(name string) (int, error) {
		v := getenv(name)
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("--shard auto: %s=%q is not a number", name, v)
		}
		return n, nil
	}
	var idx, n int
	var err error
	switch {
	case getenv("JOB_COMPLETION_INDEX") != "":
		if idx, err = num("JOB_COMPLETION_INDEX"); err != nil {
			return Shard{}, err
		}
		if count <= 0 {
			return Shard{}, fmt.Errorf("--shard auto: JOB_COMPLETION_INDEX is set (Kubernetes) but not the count: give --shard-count, the Job's completions")
		}
	case getenv("SLURM_ARRAY_TASK_ID") != "":
		id, err := num("SLURM_ARRAY_TASK_ID")
		if err != nil {
			return Shard{}, err
		}
		lo, err := num("SLURM_ARRAY_TASK_MIN")
		if err != nil {
			return Shard{}, err
		}
		idx = id - lo
		if count <= 0 {
			if n, err = num("SLURM_ARRAY_TASK_COUNT"); err != nil {
				return Shard{}, err
			}
		}
	case getenv("AWS_BATCH_JOB_ARRAY_INDEX") != "":
		if idx, err = num("AWS_BATCH_JOB_ARRAY_INDEX"); err != nil {
			return Shard{}, err
		}
		if count <= 0 {
			if n, err = num("AWS_BATCH_JOB_ARRAY_SIZE"); err != nil {
				return Shard{}, err
			}
		}
	default:
		return Shard{}, fmt.Errorf("--shard auto: none of JOB_COMPLETION_INDEX (Kubernetes), SLURM_ARRAY_TASK_ID (Slurm), AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch) is set: give --shard K/N")
	}
	if count > 0 {
		n = count
	}
	if n < 1 || idx < 0 || idx >= n {
		return Shard{}, fmt.Errorf("--shard auto: task index %d (from 0) out of a count of %d", idx, n)
	}
	return Shard{idx + 1, n}, nil
}

// Has reports whether key (a File's Rel) is this shard's. FNV-1a is
// stable across versions, platforms and runs, unlike Go's maphash.
func (s Shard) Has(key string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()%uint64(s.N) == uint64(s.K-1)
}

func (s Shard) String() string {
	if s.N == 0 {
		return "1/1"
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}
