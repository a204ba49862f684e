package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// afterClose is the server half of data_after_close and timewait_rst: it
// answers one request and closes (or is killed), the client writes on.
func afterCloseServer(a *agent) error {
	var opts [][3]int
	if a.tags["linger2"] {
		// A FIN_WAIT2 timeout above TCP_TIMEWAIT_LEN (60 s) keeps the
		// full socket instead of a timewait mini-socket
		// (tcp_rcv_state_process, case TCP_FIN_WAIT1).
		opts = append(opts, intOpt(unix.IPPROTO_TCP, unix.TCP_LINGER2, 120))
	}
	c, err := a.accept(opts...)
	if err != nil {
		return err
	}
	if _, err := readLine(c); err != nil {
		return err
	}
	if _, err := c.Write([]byte("OK\n")); err != nil {
		return err
	}
	if a.tags["killed"] {
		a.mark("replied")
		select {} // the lab sends SIGKILL
	}
	return c.Close()
}

func afterCloseClient(a *agent) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET\n")); err != nil {
		return err
	}
	if _, err := readLine(c); err != nil {
		return err
	}
	switch {
	case a.tags["quick"]:
		// Written at once: the segment may carry the ACK of the
		// server's FIN.
	case a.tags["killed"]:
		a.mark("read")
		if err := a.await("write"); err != nil {
			return err
		}
	default:
		time.Sleep(100 * time.Millisecond) // the server's FIN is in and acked
	}
	if _, err := c.Write([]byte("MORE\n")); err != nil {
		return err
	}
	// A read would return the server's FIN (EOF) before the RST; a
	// second write after the RST fails instead.
	time.Sleep(300 * time.Millisecond)
	_, err = c.Write([]byte("MORE\n"))
	if !errors.Is(err, unix.ECONNRESET) && !errors.Is(err, unix.EPIPE) {
		return fmt.Errorf("second write: %v, want reset", err)
	}
	return nil
}

func killedDrive(ctx context.Context, r *runner) error {
	if !r.j.v.has("killed") {
		return standard(ctx, r)
	}
	srv, err := r.agent("server")
	if err != nil {
		return err
	}
	if err := srv.expect("ready", 5*time.Second); err != nil {
		srv.kill()
		return err
	}
	cli, err := r.agent("client")
	if err != nil {
		srv.kill()
		return err
	}
	if err := srv.expect("replied", 5*time.Second); err != nil {
		srv.kill()
		cli.kill()
		return err
	}
	if err := cli.expect("read", 5*time.Second); err != nil {
		srv.kill()
		cli.kill()
		return err
	}
	srv.kill()
	time.Sleep(100 * time.Millisecond)
	cli.send("write")
	return cli.wait(10 * time.Second)
}

func dataAfterClose() *scenario {
	return &scenario{
		name:   "data_after_close",
		expect: []string{"TCP_ABORT_ON_DATA"},
		desc:   "the server answers one request and closes; the client writes more after the server's FIN: data on a socket its application has closed",
		variants: []variant{
			"quick-v4-eth-client", "quick-v6-eth-server", "quick-v4-any-client",
			"linger2-v4-eth-client", "linger2-v6-eth-server-ng", "linger2-v6-any-client",
		},
		server: afterCloseServer,
		client: afterCloseClient,
		drive:  killedDrive,
		notes: map[string]string{
			"TCP_TIMEWAIT_SOCKET": "the client's data reached the server after its FIN was acked: the closed socket had become a FIN_WAIT2 timewait mini-socket",
		},
	}
}

func timewait() *scenario {
	return &scenario{
		name:   "timewait_rst",
		expect: []string{"TCP_TIMEWAIT_SOCKET"},
		desc:   "the server answers one request and closes; the client acks the FIN, then writes 100 ms later: the data hits the server's timewait mini-socket (substate FIN_WAIT2)",
		variants: []variant{
			"paced-v4-eth-client", "paced-v6-eth-server", "paced-v4-any-router", "paced-v6-any-client-ng",
			"killed-v4-eth-client", "killed-v6-eth-server",
		},
		server: afterCloseServer,
		client: afterCloseClient,
		drive:  killedDrive,
		// The client has not closed: this is data after the server's close.
		// Whether the kernel answers from the timewait mini-socket or from
		// the full socket (TCP_ABORT_ON_DATA) depends on tcp_fin_timeout and
		// TCP_LINGER2, which the wire does not show (data_after_close-linger2
		// is byte for byte alike). timewait_rst is for a true TIME_WAIT, both
		// FINs exchanged.
		causes: map[string]string{"TCP_TIMEWAIT_SOCKET": "data_after_close"},
		notes: map[string]string{
			"TCP_TIMEWAIT_SOCKET": "new data after the server's FIN was acked: tcp_timewait_state_process answers TCP_TW_RST in substate FIN_WAIT2",
		},
	}
}

// pair starts server and client and waits until both mark established.
func pair(r *runner) (srv, cli *proc, err error) {
	srv, err = r.agent("server")
	if err != nil {
		return nil, nil, err
	}
	if err = srv.expect("ready", 5*time.Second); err != nil {
		srv.kill()
		return nil, nil, err
	}
	cli, err = r.agent("client")
	if err != nil {
		srv.kill()
		return nil, nil, err
	}
	for _, p := range []*proc{srv, cli} {
		if err = p.expect("established", 5*time.Second); err != nil {
			srv.kill()
			cli.kill()
			return nil, nil, err
		}
	}
	return srv, cli, nil
}

// exchange is one request and answer that establishes the connection.
func serverExchange(a *agent, opts ...[3]int) (*net.TCPConn, error) {
	c, err := a.accept(opts...)
	if err != nil {
		return nil, err
	}
	if _, err := readLine(c); err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte("OK\n")); err != nil {
		return nil, err
	}
	a.mark("established")
	return c, nil
}

func clientExchange(a *agent, opts ...[3]int) (*net.TCPConn, error) {
	c, err := a.dial(opts...)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte("HELLO\n")); err != nil {
		return nil, err
	}
	if _, err := readLine(c); err != nil {
		return nil, err
	}
	a.mark("established")
	return c, nil
}

// blackhole drops the scenario port's traffic on the router; replies only
// drops the server's packets.
func blackhole(ctx context.Context, r *runner, repliesOnly bool) error {
	if err := r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "--sport", fmt.Sprint(port), "-j", "DROP"); err != nil {
		return err
	}
	if repliesOnly {
		return nil
	}
	return r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "--dport", fmt.Sprint(port), "-j", "DROP")
}

func noSocket() *scenario {
	return &scenario{
		name:   "no_socket",
		expect: []string{"NO_SOCKET", "TCP_FLAGS"},
		desc:   "the router blackholes an established connection; the server's write times out (TCP_USER_TIMEOUT 1 s) and its kernel drops the connection silently; the path heals and the client's next segment finds no socket (busy: the server keeps listening, and the client opens a second connection before it writes: its segment reaches the listener)",
		routed: true,
		variants: []variant{
			"v4-eth-client", "v6-eth-client", "v4-eth-server", "v4-any-router", "v6-any-server-ng",
			"busy-v4-eth-client", "busy-v6-eth-server",
		},
		causes: map[string]string{"TCP_FLAGS": "no_socket"},
		notes: map[string]string{
			"NO_SOCKET": "the server's kernel gave up after TCP_USER_TIMEOUT without sending anything; this RST answers the client's first segment after the path healed",
			"TCP_FLAGS": "the server's kernel gave up after TCP_USER_TIMEOUT without sending anything; the client's first segment after the path healed reached the listener still open on the port, which resets an ACK (tcp_rcv_state_process, TCP_LISTEN)",
		},
		server: func(a *agent) error {
			opt := intOpt(unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 1000)
			if a.tags["busy"] {
				// A server that goes on listening, as real ones do.
				ln, err := a.listen(opt)
				if err != nil {
					return err
				}
				defer ln.Close()
				ln.SetDeadline(time.Now().Add(10 * time.Second))
				c, err := ln.AcceptTCP()
				if err != nil {
					return err
				}
				defer c.Close()
				if _, err := readLine(c); err != nil {
					return err
				}
				if _, err := c.Write([]byte("OK\n")); err != nil {
					return err
				}
				a.mark("established")
				if err := a.await("write"); err != nil {
					return err
				}
				if _, err := c.Write([]byte("PUSH\n")); err != nil {
					return err
				}
				if err := drain(c, 8*time.Second); !errors.Is(err, unix.ETIMEDOUT) {
					return fmt.Errorf("read: %v, want timed out", err)
				}
				a.mark("gone")
				// The client's second connection: taken and ended
				// cleanly when the client ends it, so that closing the
				// listener resets nothing left in its queue.
				c2, err := ln.AcceptTCP()
				if err != nil {
					return err
				}
				if err := drain(c2, 8*time.Second); err != nil {
					return fmt.Errorf("second connection: %v", err)
				}
				c2.Close()
				return a.await("end") // the listener stays open until then
			}
			c, err := serverExchange(a, opt)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := a.await("write"); err != nil {
				return err
			}
			if _, err := c.Write([]byte("PUSH\n")); err != nil {
				return err
			}
			err = drain(c, 8*time.Second)
			if !errors.Is(err, unix.ETIMEDOUT) {
				return fmt.Errorf("read: %v, want timed out", err)
			}
			a.mark("gone")
			return nil
		},
		client: func(a *agent) error {
			c, err := clientExchange(a)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := a.await("write"); err != nil {
				return err
			}
			if a.tags["busy"] {
				// Another connection first: the server's SYN-ACK shows
				// its listener accepting.
				other, err := a.dial()
				if err != nil {
					return fmt.Errorf("second connection: %w", err)
				}
				defer other.Close()
			}
			if _, err := c.Write([]byte("ANYONE?\n")); err != nil {
				return err
			}
			return expectReset(drain(c, 3*time.Second))
		},
		drive: func(ctx context.Context, r *runner) error {
			srv, cli, err := pair(r)
			if err != nil {
				return err
			}
			defer srv.kill()
			defer cli.kill()
			if err := blackhole(ctx, r, false); err != nil {
				return err
			}
			srv.send("write")
			if err := srv.expect("gone", 10*time.Second); err != nil {
				return err
			}
			if err := r.fw(ctx, nsRouter, "-F", "FORWARD"); err != nil {
				return err
			}
			cli.send("write")
			if err := cli.wait(10 * time.Second); err != nil {
				return err
			}
			if r.j.v.has("busy") {
				srv.send("end")
			}
			return srv.quit()
		},
	}
}

func halfOpenRestart() *scenario {
	return &scenario{
		name:   "half_open_restart",
		expect: []string{"TCP_INVALID_ACK_SEQUENCE"},
		desc:   "the client host loses its connection (abort whose RST a firewall drops, as a crash would), then reconnects from the same port; the server still holds the old connection and answers the SYN with a challenge ACK, which the client's SYN_SENT socket resets",
		variants: []variant{
			"v4-eth-client", "v6-eth-server", "v4-eth-server-ng", "v6-any-client",
		},
		moreClean: 1,
		causes: map[string]string{
			"TCP_INVALID_ACK_SEQUENCE": "no_socket",
		},
		notes: map[string]string{
			"TCP_INVALID_ACK_SEQUENCE": "the client host plainly lost the old connection: its new SYN_SENT socket resets the server's challenge ACK; the connection after it is clean",
		},
		server: func(a *agent) error {
			ln, err := a.listen()
			if err != nil {
				return err
			}
			defer ln.Close()
			ln.SetDeadline(time.Now().Add(10 * time.Second))
			old, err := ln.AcceptTCP()
			if err != nil {
				return err
			}
			defer old.Close()
			if _, err := readLine(old); err != nil {
				return err
			}
			if _, err := old.Write([]byte("OK\n")); err != nil {
				return err
			}
			a.mark("established")
			fresh, err := ln.AcceptTCP()
			if err != nil {
				return err
			}
			defer fresh.Close()
			if _, err := readLine(fresh); err != nil {
				return err
			}
			if _, err := fresh.Write([]byte("OK again\n")); err != nil {
				return err
			}
			if err := drain(fresh, 3*time.Second); err != nil {
				return err
			}
			return expectReset(drain(old, time.Second))
		},
		client: func(a *agent) error {
			ctl := sockopt(intOpt(unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
			local := &net.TCPAddr{IP: net.ParseIP(a.clientAddr), Port: 40000}
			d := net.Dialer{Timeout: 5 * time.Second, Control: ctl, LocalAddr: local, KeepAlive: -1}
			addr := net.JoinHostPort(a.server, fmt.Sprint(port))
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return err
			}
			if _, err := c.Write([]byte("HELLO\n")); err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			a.mark("established")
			if err := a.await("crash"); err != nil {
				return err
			}
			if err := abort(c.(*net.TCPConn)); err != nil {
				return err
			}
			a.mark("crashed")
			if err := a.await("restart"); err != nil {
				return err
			}
			c, err = d.Dial("tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Write([]byte("HELLO again\n")); err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			return nil
		},
		drive: func(ctx context.Context, r *runner) error {
			srv, cli, err := pair(r)
			if err != nil {
				return err
			}
			defer srv.kill()
			defer cli.kill()
			// The crash: the client's abort RST never leaves the host.
			if err := r.fw(ctx, nsClient, "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-j", "DROP"); err != nil {
				return err
			}
			cli.send("crash")
			if err := cli.expect("crashed", 5*time.Second); err != nil {
				return err
			}
			if err := r.fw(ctx, nsClient, "-F", "OUTPUT"); err != nil {
				return err
			}
			cli.send("restart")
			if err := cli.wait(10 * time.Second); err != nil {
				return err
			}
			if err := srv.expect("done", 10*time.Second); err != nil {
				return err
			}
			return srv.quit()
		},
	}
}

func finWait2Abort() *scenario {
	return &scenario{
		name:     "fin_wait2_abort",
		desc:     "the server sets TCP_LINGER2 to -1 (no FIN_WAIT2 state) and closes after one exchange; when the client acks its FIN, the server aborts instead of waiting for the client's FIN",
		variants: []variant{"v4-eth-client", "v6-eth-server", "v4-any-server-ng"},
		expect:   []string{"TCP_ABORT_ON_DATA"},
		// Measured: the kernel names this TCP_ABORT_ON_DATA (the drop
		// reason tcp_rcv_state_process returns for linger2 < 0), not
		// TCP_ABORT_ON_LINGER, though the segment it answers is a bare
		// ACK of the FIN.
		causes: map[string]string{"TCP_ABORT_ON_DATA": "linger_abort"},
		notes: map[string]string{
			"TCP_ABORT_ON_DATA": "TCP_LINGER2 -1: the ACK of the server's FIN (no data) draws the RST; the kernel's reason says data, the capture shows none",
		},
		server: func(a *agent) error {
			c, err := a.accept(intOpt(unix.IPPROTO_TCP, unix.TCP_LINGER2, -1))
			if err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			if _, err := c.Write([]byte("OK\n")); err != nil {
				return err
			}
			return c.Close()
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Write([]byte("GET\n")); err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond) // the FIN is in and acked
			return nil
		},
	}
}
