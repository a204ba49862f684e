package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func zeroWindow() *scenario {
	return &scenario{
		name:   "zero_window",
		expect: []string{"TCP_STATE", "TCP_DISCONNECT_WITH_DATA", "TCP_ABORT_ON_CLOSE"},
		desc:   "the server (SO_RCVBUF 4096) stops reading until its window is zero; the client's writes block; then the client aborts (sender: write deadline, SO_LINGER {on, 0}, close) or the server closes with the data unread (reader)",
		variants: []variant{
			"sender-v4-eth-client", "sender-v6-eth-server", "sender-v4-any-router", "sender-v4-eth-server-ng",
			"reader-v4-eth-client", "reader-v6-any-server",
		},
		snaplen: 256,
		causes: map[string]string{
			"TCP_STATE":                "zero_window_abort",
			"TCP_DISCONNECT_WITH_DATA": "zero_window_abort",
		},
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE": "the reader closed with unread data after advertising a zero window: the kernel names the unread data",
		},
		server: func(a *agent) error {
			c, err := a.accept(intOpt(unix.SOL_SOCKET, unix.SO_RCVBUF, 4096))
			if err != nil {
				return err
			}
			defer c.Close()
			if a.tags["reader"] {
				time.Sleep(time.Second) // long enough for a zero window
				return c.Close()
			}
			time.Sleep(3 * time.Second) // the client gives up meanwhile
			return expectReset(drain(c, time.Second))
		},
		client: func(a *agent) error {
			c, err := a.dial(intOpt(unix.SOL_SOCKET, unix.SO_SNDBUF, 16384))
			if err != nil {
				return err
			}
			defer c.Close()
			chunk := make([]byte, 4096)
			// The reader closes after 1 s; the sender gives up at 1.5 s.
			wait := 1500 * time.Millisecond
			if a.tags["reader"] {
				wait = 4 * time.Second
			}
			c.SetWriteDeadline(time.Now().Add(wait))
			for {
				if _, err := c.Write(chunk); err != nil {
					if a.tags["reader"] {
						if errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE) {
							return nil
						}
						return fmt.Errorf("write: %v, want reset", err)
					}
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						return fmt.Errorf("write: %v, want deadline", err)
					}
					return abort(c)
				}
			}
		},
	}
}

func keepalive() *scenario {
	return &scenario{
		name:   "keepalive_timeout",
		expect: []string{"TCP_KEEPALIVE_TIMEOUT"},
		desc:   "the client sets TCP keepalive (idle 1 s, interval 1 s, 3 probes); the router then drops the server's packets (replies) or both directions (both); the client's kernel resets after the last unanswered probe",
		routed: true,
		variants: []variant{
			"replies-v4-eth-client", "replies-v6-eth-server", "replies-v4-any-router",
			"both-v4-eth-client-ng", "both-v6-eth-client", "both-v4-eth-server-unseen",
		},
		server: func(a *agent) error {
			c, err := serverExchange(a)
			if err != nil {
				return err
			}
			defer c.Close()
			drain(c, 10*time.Second) // reset, or nothing when both directions drop
			return nil
		},
		client: func(a *agent) error {
			c, err := clientExchange(a)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3}); err != nil {
				return err
			}
			a.mark("armed")
			err = drain(c, 15*time.Second)
			if !errors.Is(err, unix.ETIMEDOUT) {
				return fmt.Errorf("read: %v, want timed out", err)
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
			if err := cli.expect("armed", 5*time.Second); err != nil {
				return err
			}
			if err := blackhole(ctx, r, r.j.v.has("replies")); err != nil {
				return err
			}
			if err := cli.wait(20 * time.Second); err != nil {
				return err
			}
			srv.kill()
			return nil
		},
	}
}

func retransmission() *scenario {
	return &scenario{
		name:    "retransmission_timeout",
		expect:  []string{"TCP_STATE", "TCP_DISCONNECT_WITH_DATA"},
		desc:    "the router blackholes an established connection; the client sends a request (bulk: 1 MiB with a write deadline), its kernel retransmits unanswered, and after 2 s the application gives up with SO_LINGER {on, 0} and close",
		routed:  true,
		snaplen: 256,
		variants: []variant{
			"v4-eth-client", "v6-eth-client-ng", "v4-any-router", "bulk-v4-eth-client", "bulk-v6-any-router",
			"v6-eth-server-unseen",
		},
		causes: map[string]string{
			"TCP_STATE":                "retransmission_timeout",
			"TCP_DISCONNECT_WITH_DATA": "retransmission_timeout",
		},
		notes: map[string]string{
			"TCP_STATE": "the application aborted after its own timeout while its data was being retransmitted unanswered; the blackhole drops this RST beyond the router",
		},
		server: func(a *agent) error {
			c, err := serverExchange(a)
			if err != nil {
				return err
			}
			defer c.Close()
			drain(c, 8*time.Second) // nothing arrives
			return nil
		},
		client: func(a *agent) error {
			c, err := clientExchange(a)
			if err != nil {
				return err
			}
			if err := a.await("send"); err != nil {
				return err
			}
			deadline := time.Now().Add(2 * time.Second)
			if a.tags["bulk"] {
				c.SetWriteDeadline(deadline)
				_, err = c.Write(make([]byte, 1<<20))
			} else {
				if _, err := c.Write([]byte("REQUEST\n")); err != nil {
					return err
				}
				err = drain(c, 2*time.Second)
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("got %v, want the deadline", err)
			}
			return abort(c)
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
			cli.send("send")
			if err := cli.wait(10 * time.Second); err != nil {
				return err
			}
			srv.kill()
			return nil
		},
	}
}

func middlebox() *scenario {
	return &scenario{
		name:   "middlebox_reset",
		expect: []string{"", "NO_SOCKET"},
		desc:   "a firewall on the router rejects with iptables REJECT --reject-with tcp-reset: a new SYN (syn), or the data segments of an established connection (est); the server later writes and the client, which accepted the forged RST, answers with its own",
		routed: true,
		variants: []variant{
			"syn-v4-eth-client", "syn-v6-any-router", "syn-v6-eth-client-ng",
			"est-v4-eth-client", "est-v6-eth-server", "est-v4-any-router", "est-v6-eth-client-ng",
		},
		notes: map[string]string{
			"":          "sent by the router's iptables REJECT with the server's address: no tcp_send_reset event",
			"NO_SOCKET": "seen from the server, the client plainly lost the connection; the forged RST that made it forget went only to the client",
		},
		server: func(a *agent) error {
			if a.tags["syn"] {
				_, err := a.listen() // listening: the SYN never gets here
				return err
			}
			c, err := serverExchange(a)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := a.await("send"); err != nil {
				return err
			}
			if _, err := c.Write([]byte("LATE\n")); err != nil {
				return err
			}
			return expectReset(drain(c, 3*time.Second))
		},
		client: func(a *agent) error {
			if a.tags["syn"] {
				_, err := a.dial()
				if !errors.Is(err, unix.ECONNREFUSED) {
					return fmt.Errorf("dial: %v, want refused", err)
				}
				return nil
			}
			c, err := clientExchange(a)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := a.await("send"); err != nil {
				return err
			}
			if _, err := c.Write([]byte("MORE\n")); err != nil {
				return err
			}
			if err := expectReset(drain(c, 3*time.Second)); err != nil {
				return err
			}
			a.mark("reset")
			return nil
		},
		drive: func(ctx context.Context, r *runner) error {
			if r.j.v.has("syn") {
				if err := r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "--dport", fmt.Sprint(port), "--syn", "-j", "REJECT", "--reject-with", "tcp-reset"); err != nil {
					return err
				}
				return standard(ctx, r)
			}
			srv, cli, err := pair(r)
			if err != nil {
				return err
			}
			defer srv.kill()
			defer cli.kill()
			// Only segments with data: the client's own RST must pass.
			if err := r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "--dport", fmt.Sprint(port), "--tcp-flags", "PSH", "PSH", "-j", "REJECT", "--reject-with", "tcp-reset"); err != nil {
				return err
			}
			cli.send("send")
			if err := cli.expect("reset", 5*time.Second); err != nil {
				return err
			}
			srv.send("send")
			if err := cli.wait(5 * time.Second); err != nil {
				return err
			}
			if err := srv.expect("done", 5*time.Second); err != nil {
				return err
			}
			return srv.quit()
		},
	}
}
