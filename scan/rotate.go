package scan

import (
	"path"
	"strings"
)

// CapturePoint names the capture point a file belongs to: its folder and
// its name with every run of digits made one '#'. The files one
// `tcpdump -G 300 -w 'eth0-%Y%m%d-%H%M%S.pcap'` writes (and gzip
// renames to .pcap.gz, all of them alike) share one; so do the
// numbered files of `tcpdump -C 100 -w eth0.pcap` (eth0.pcap1, ...), but
// for the first of them, which has no number.
func CapturePoint(rel string) string {
	dir, name := path.Split(rel)
	var b strings.Builder
	b.WriteString(dir)
	digits := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= '0' && c <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteByte(c)
	}
	return b.String()
}
