package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// serversDir is the corpus of the scenarios that run real server software.
// rstwhy is held to it by a ratchet (KNOWN_WRONG.tsv), not by TestAccuracy.
const serversDir = "testdata/pcaps-servers"

// bodySize is the upload the HTTP scenarios send: far above every limit
// they configure (64 KiB), and more than a receive buffer takes at once.
const bodySize = 1 << 20

// daemon starts a server program inside the agent's namespace and returns
// once it listens on the lab's port. It gets SIGKILL when the agent exits
// (Pdeathsig), so a killed agent leaves nothing behind in a namespace that
// is about to be deleted.
func (a *agent) daemon(dir string, name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("%s exited before it listened: %v", name, err)
		default:
		}
		if listening(port) {
			return cmd, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("%s did not listen on port %d within 10s", name, port)
}

// listening reports whether a socket of this network namespace listens on
// p. It reads /proc/net/tcp{,6} rather than connecting: a probe would be a
// connection of its own in the capture.
func listening(p int) bool {
	want := fmt.Sprintf(":%04X", p)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			fl := strings.Fields(sc.Text())
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if len(fl) > 3 && strings.HasSuffix(fl[1], want) && fl[3] == "0A" {
				return true
			}
		}
	}
	return false
}

// workdir is a directory of the agent's own for a server's configuration,
// logs and pid file; runServer removes it when the agent quits.
func (a *agent) workdir() (string, error) {
	dir, err := os.MkdirTemp("", "rstlab-srv")
	if err == nil {
		a.dirs = append(a.dirs, dir)
	}
	return dir, err
}

// url is the scenario's HTTP address as curl takes it.
func (a *agent) url(path string) string {
	return "http://" + net.JoinHostPort(a.server, fmt.Sprint(port)) + path
}

// curlPost uploads a 1 MiB body with curl, without "Expect: 100-continue"
// (curl's default above 1 KiB), so that the body follows the headers at
// once as most clients send it. The status and curl's own error are
// returned for the log: an early answer makes curl stop sending, and what
// the connection then does is the scenario's.
func (a *agent) curlPost(path string, extra ...string) (string, error) {
	args := append([]string{"-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
		"-H", "Expect:", "-H", "Content-Type: application/octet-stream", "--data-binary", "@-"}, extra...)
	args = append(args, a.url(path))
	cmd := exec.Command("curl", args...)
	cmd.Stdin = bytes.NewReader(make([]byte, bodySize))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	fmt.Fprintf(os.Stderr, "curl: status %s %s\n", out.String(), strings.TrimSpace(errb.String()))
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// 55: send failed, 56: receive failed (the reset): the
		// scenario's own outcome, not the lab's failure.
		switch ee.ExitCode() {
		case 52, 55, 56:
			return out.String(), nil
		}
	}
	return out.String(), err
}

// pyClient is Python's http.client: request() sends the whole body before
// getresponse() reads anything, so an early answer does not stop the upload
// as it stops curl's.
const pyClient = `
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
try:
    c.request("POST", sys.argv[3], body=bytes(1 << 20), headers={"Content-Type": "application/octet-stream"})
    r = c.getresponse()
    r.read()
    print("python client:", r.status, file=sys.stderr)
except OSError as e:
    print("python client:", e, file=sys.stderr)
c.close()
`

// pyPost uploads 1 MiB with Python's http.client.
func (a *agent) pyPost(path string) error {
	cmd := exec.Command("python3", "-c", pyClient, a.server, fmt.Sprint(port), path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}
