package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Ports of the lab. Every scenario also runs one clean exchange on
// cleanPort that ends with FIN from both sides.
const (
	port      = 5000
	cleanPort = 7000
)

// agent is one role (server or client) of a scenario, run as a process of
// its own inside a namespace. It talks to the lab by lines: it prints marks
// on stdout and waits for words on stdin.
type agent struct {
	server     string          // server address
	clientAddr string          // client address
	tags       map[string]bool // the variant's name tokens
	in         *bufio.Scanner
	out        io.Writer
	mu         sync.Mutex // one mark at a time
	dirs       []string   // made by workdir, removed on quit
}

func agentMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("job", "", "scenario-variant")
	role := fs.String("role", "", "server or client")
	server := fs.String("server", "", "server address")
	client := fs.String("client", "", "client address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	j, ok := findJob(*name)
	if !ok {
		fmt.Fprintf(stderr, "agent: no job %q\n", *name)
		return 2
	}
	a := &agent{server: *server, clientAddr: *client, tags: j.v.tags(), in: bufio.NewScanner(stdin), out: stdout}
	var err error
	switch *role {
	case "server":
		err = a.runServer(j.s)
	case "client":
		err = a.runClient(j.s)
	case "injector":
		err = a.runInjector(j.s)
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		fmt.Fprintf(stderr, "agent %s: %v\n", *role, err)
		a.mark("error")
		return 1
	}
	return 0
}

func (a *agent) mark(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintln(a.out, s)
}

// await blocks until the lab sends word.
func (a *agent) await(word string) error {
	for a.in.Scan() {
		if strings.TrimSpace(a.in.Text()) == word {
			return nil
		}
	}
	return fmt.Errorf("stdin closed while waiting for %q", word)
}

func (a *agent) runServer(s *scenario) error {
	cl, err := net.Listen("tcp", net.JoinHostPort(a.server, fmt.Sprint(cleanPort)))
	if err != nil {
		return err
	}
	go echo(cl)
	if s.server == nil {
		a.mark("ready")
		return a.await("quit")
	}
	defer func() {
		for _, d := range a.dirs {
			os.RemoveAll(d)
		}
	}()
	if err := s.server(a); err != nil {
		return err
	}
	a.mark("done")
	return a.await("quit")
}

// echo answers the clean connections: read to EOF, write it back, close.
func echo(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			b, _ := io.ReadAll(c)
			c.Write(b)
			c.Close()
		}()
	}
}

func (a *agent) runClient(s *scenario) error {
	if err := a.clean(); err != nil {
		return fmt.Errorf("clean exchange: %w", err)
	}
	if s.client == nil {
		return nil
	}
	if err := s.client(a); err != nil {
		return err
	}
	a.mark("done")
	return nil
}

// clean is the connection that must not be reported: the client half-closes,
// the server echoes and closes, the client reads to EOF and closes.
func (a *agent) clean() error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(a.server, fmt.Sprint(cleanPort)), 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return err
	}
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = io.ReadAll(c)
	return err
}

// sockopt returns a Control function that sets int socket options before
// bind/connect, so that they count for the handshake (window scale).
func sockopt(opts ...[3]int) func(string, string, syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			for _, o := range opts {
				if e := unix.SetsockoptInt(int(fd), o[0], o[1], o[2]); e != nil && serr == nil {
					serr = e
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

func (a *agent) listen(opts ...[3]int) (*net.TCPListener, error) {
	lc := net.ListenConfig{Control: sockopt(opts...)}
	ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(a.server, fmt.Sprint(port)))
	if err != nil {
		return nil, err
	}
	a.mark("ready")
	return ln.(*net.TCPListener), nil
}

// accept is listen plus one Accept, closing the listener.
func (a *agent) accept(opts ...[3]int) (*net.TCPConn, error) {
	ln, err := a.listen(opts...)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	ln.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (a *agent) dial(opts ...[3]int) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, Control: sockopt(opts...), KeepAlive: -1}
	c, err := d.Dial("tcp", net.JoinHostPort(a.server, fmt.Sprint(port)))
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// intOpt is a socket option for sockopt.
func intOpt(level, name, v int) [3]int { return [3]int{level, name, v} }

// proc is an agent as the lab sees it.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{} // closed when the process has exited
	err   error         // its exit status, once done is closed
	errb  strings.Builder
}

func startAgent(ns, name string, args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, lines: make(chan string, 64), done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, exe, "agent"}, args...)...)
	p.cmd.Stderr = &p.errb
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

var errAgent = errors.New("agent failed")

// expect waits for the mark word.
func (p *proc) expect(word string, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return fmt.Errorf("%w: %s exited before %q: %s", errAgent, p.name, word, p.errb.String())
			}
			if l == word {
				return nil
			}
			if l == "error" {
				return fmt.Errorf("%w: %s: %s", errAgent, p.name, p.errb.String())
			}
		case <-deadline:
			return fmt.Errorf("%s: no %q within %v: %s", p.name, word, timeout, p.errb.String())
		}
	}
}

func (p *proc) send(word string) { fmt.Fprintln(p.stdin, word) }

// wait waits for the agent to exit, killing it after timeout.
func (p *proc) wait(timeout time.Duration) error {
	go func() {
		for range p.lines {
		}
	}()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%w: %s: %v: %s", errAgent, p.name, p.err, p.errb.String())
		}
		return nil
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s: still running after %v, killed: %s", p.name, timeout, p.errb.String())
	}
}

// quit tells a server agent to exit and waits for it.
func (p *proc) quit() error {
	p.send("quit")
	p.stdin.Close()
	return p.wait(5 * time.Second)
}

// kill ends the agent with SIGKILL, as a crash would.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	go func() {
		for range p.lines {
		}
	}()
	<-p.done
}
