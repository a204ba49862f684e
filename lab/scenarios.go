package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// scenarios lists every scenario of the lab, in run order.
func scenarios() []*scenario {
	return []*scenario{
		primes(),
		primesLostReset(),
		httpEarlyResponse(),
		earlyClientClose(),
		lingerAbort(),
		refused(),
		acceptQueueClose(),
		dataAfterClose(),
		timewait(),
		noSocket(),
		halfOpenRestart(),
		finWait2Abort(),
		zeroWindow(),
		keepalive(),
		retransmission(),
		middlebox(),
		// scenarios_forge.go
		forgeRace(),
		forgeWindow(),
		forgeRefusal(),
		forgeTTL(),
		forgeIdle(),
		forgeIgnored(),
		forgeAcks(),
		forgeClock(),
		forgeIPID(),
		finScan(),
		payloadRST(),
		winAbort(),
		// testdata/pcaps-servers
		goHTTP(),
		pyHTTP(),
		pyHTTPModule(),
		nginx(),
		haproxy(),
		replyWait(),
		finQueued(),
		partingAbort(),
		partingUnread(),
		halfClosedLinger2(),
		synScan(),
		cascade(),
		reuse(),
		reuseDelayed(),
		reject(),
		slowReader(),
	}
}

// readLine reads up to and including '\n' one byte at a time, so that the
// kernel keeps everything after it: what is left is what close() finds
// unread.
func readLine(c net.Conn) (string, error) {
	var b strings.Builder
	var one [1]byte
	for {
		if _, err := c.Read(one[:]); err != nil {
			return b.String(), err
		}
		b.WriteByte(one[0])
		if one[0] == '\n' {
			return b.String(), nil
		}
	}
}

// readUntil reads one byte at a time until the input ends with end.
func readUntil(c net.Conn, end string) (string, error) {
	var b strings.Builder
	var one [1]byte
	for !strings.HasSuffix(b.String(), end) {
		if _, err := c.Read(one[:]); err != nil {
			return b.String(), err
		}
		b.WriteByte(one[0])
	}
	return b.String(), nil
}

// abort closes with SO_LINGER {on, 0}: the kernel sends RST, not FIN.
func abort(c *net.TCPConn) error {
	if err := c.SetLinger(0); err != nil {
		return err
	}
	return c.Close()
}

// drain reads until EOF, an error or the deadline and reports the error.
func drain(c net.Conn, d time.Duration) error {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return err
}

func primes() *scenario {
	return &scenario{
		name:   "unread_data_close",
		expect: []string{"TCP_ABORT_ON_CLOSE"},
		desc:   "primes: the client sends six numbers on one connection; the server reads one, finds it is not prime, writes ERROR and closes with five unread; the client does not read ERROR",
		variants: []variant{
			"primes-v4-eth-client", "primes-v4-eth-server", "primes-v6-eth-client", "primes-v6-any-server",
			"primes-v4-any-client-ng", "primes-v6-eth-server-ng", "primes-v4-any-router", "primes-v4-sll-router",
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond) // all six numbers are in
			if _, err := readLine(c); err != nil {
				return err
			}
			if _, err := c.Write([]byte("ERROR\n")); err != nil {
				return err
			}
			return c.Close()
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			for _, n := range []string{"4", "7", "11", "13", "17", "19"} {
				if _, err := c.Write([]byte(n + "\n")); err != nil {
					return err
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond)
			return c.Close()
		},
	}
}

func httpEarlyResponse() *scenario {
	return &scenario{
		name:   "unread_data_close",
		expect: []string{"TCP_ABORT_ON_CLOSE"},
		desc:   "http: an HTTP/1.1 server reads only the request headers of a 1 MiB upload, answers 413 (or 502, as Envoy does after an upstream write fails) and closes while the body is still arriving",
		variants: []variant{
			"http413-v4-eth-server", "http413-v6-eth-client", "http413-v4-any-client",
			"http502-v4-any-router", "http502-v6-eth-server-ng", "http502-v4-eth-client",
		},
		snaplen: 256,
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			if _, err := readUntil(c, "\r\n\r\n"); err != nil {
				return err
			}
			// Answering at once would close before the body arrives:
			// then the kernel names the body TCP_ABORT_ON_DATA. A
			// moment of work lets the body queue up unread.
			status := "413 Content Too Large"
			time.Sleep(10 * time.Millisecond) // checking the length
			if a.tags["http502"] {
				status = "502 Bad Gateway"
				time.Sleep(30 * time.Millisecond) // the upstream write failing
			}
			fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status)
			return c.Close()
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			const size = 1 << 20
			fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: lab\r\nContent-Length: %d\r\n\r\n", size)
			chunk := make([]byte, 16<<10)
			c.SetWriteDeadline(time.Now().Add(3 * time.Second))
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					return nil // reset by the server, as expected
				}
			}
			return errors.New("the whole body went through; the server did not close early")
		},
	}
}

func earlyClientClose() *scenario {
	return &scenario{
		name:   "unread_data_close",
		expect: []string{"TCP_ABORT_ON_CLOSE"},
		desc:   "early-client-close: the client asks for 1 MiB, reads 1000 bytes and closes with the rest of the response unread",
		variants: []variant{
			"early-v4-eth-client", "early-v6-eth-server", "early-rcvbuf-v4-any-router", "early-rcvbuf-v6-any-client-ng",
		},
		snaplen: 256,
		notes: map[string]string{
			"NO_SOCKET": "",
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := readLine(c); err != nil {
				return err
			}
			c.SetWriteDeadline(time.Now().Add(3 * time.Second))
			c.Write(make([]byte, 1<<20)) // fails once the client resets
			return nil
		},
		client: func(a *agent) error {
			var opts [][3]int
			if a.tags["rcvbuf"] {
				opts = append(opts, intOpt(unix.SOL_SOCKET, unix.SO_RCVBUF, 8192))
			}
			c, err := a.dial(opts...)
			if err != nil {
				return err
			}
			if _, err := c.Write([]byte("GET /big\n")); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, make([]byte, 1000)); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
			return c.Close()
		},
	}
}

func lingerAbort() *scenario {
	return &scenario{
		name:   "linger_abort",
		expect: []string{"TCP_STATE"},
		desc:   "after a complete request/response exchange one side closes with SO_LINGER {on, 0} (Go SetLinger(0)): RST instead of FIN, nothing unread",
		variants: []variant{
			"byclient-v4-eth-client", "byclient-v6-eth-server", "byclient-v4-any-router",
			"byserver-v4-eth-client", "byserver-v6-any-server-ng", "byserver-v6-eth-client", "byserver-v4-sll-server-ng",
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			if _, err := c.Write([]byte("PONG\n")); err != nil {
				return err
			}
			if a.tags["byserver"] {
				time.Sleep(50 * time.Millisecond)
				return abort(c)
			}
			drain(c, 3*time.Second) // ECONNRESET
			return c.Close()
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			if _, err := c.Write([]byte("PING\n")); err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			if a.tags["byclient"] {
				time.Sleep(50 * time.Millisecond)
				return abort(c)
			}
			drain(c, 3*time.Second)
			return c.Close()
		},
	}
}

func refused() *scenario {
	return &scenario{
		name:   "connection_refused",
		expect: []string{"NO_SOCKET"},
		desc:   "the client connects to a port with no listener; the server host answers the SYN with RST+ACK",
		variants: []variant{
			"v4-eth-client", "v6-eth-server", "v4-any-router", "v6-any-client-ng", "v4-eth-server-ng", "v6-sll-client",
		},
		client: func(a *agent) error {
			_, err := a.dial()
			if !errors.Is(err, unix.ECONNREFUSED) {
				return fmt.Errorf("dial: %v, want connection refused", err)
			}
			return nil
		},
	}
}

func acceptQueueClose() *scenario {
	return &scenario{
		name:     "accept_queue_close",
		expect:   []string{"TCP_STATE"},
		desc:     "the server listens but never accepts; the client connects and sends a request (idle: sends nothing); the server closes the listener with the connection still in its accept queue",
		variants: []variant{"v4-eth-client", "v6-eth-server", "v4-any-server-ng", "idle-v4-eth-client", "idle-v6-any-server"},
		// With a request in the queued connection, the request is left
		// unread: on the wire exactly a server that accepted and closed
		// without reading (TCP_ABORT_ON_CLOSE). Only the idle variant is an
		// abortive close with nothing unread.
		causes:    map[string]string{"TCP_STATE": "unread_data_close"},
		tagCauses: map[string]map[string]string{"idle": {"TCP_STATE": "linger_abort"}},
		notes: map[string]string{
			"TCP_STATE": "listener closed with this connection in its accept queue (inet_csk_listen_stop); the kernel names TCP_STATE even when a request sat unread in the queued connection",
		},
		server: func(a *agent) error {
			ln, err := a.listen()
			if err != nil {
				return err
			}
			if err := a.await("close"); err != nil {
				return err
			}
			return ln.Close()
		},
		drive: func(ctx context.Context, r *runner) error {
			srv, err := r.agent("server")
			if err != nil {
				return err
			}
			defer srv.kill()
			if err := srv.expect("ready", 5*time.Second); err != nil {
				return err
			}
			cli, err := r.agent("client")
			if err != nil {
				return err
			}
			if err := cli.expect("sent", 5*time.Second); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
			srv.send("close")
			if err := srv.expect("done", 5*time.Second); err != nil {
				return err
			}
			return cli.wait(10 * time.Second)
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			if !a.tags["idle"] { // idle: the client waits for a greeting
				if _, err := c.Write([]byte("GET /\n")); err != nil {
					return err
				}
			}
			a.mark("sent")
			return expectReset(drain(c, 5*time.Second))
		},
	}
}

// expectReset accepts ECONNRESET, the error a reset connection reads.
func expectReset(err error) error {
	if errors.Is(err, unix.ECONNRESET) {
		return nil
	}
	return fmt.Errorf("read: %v, want connection reset", err)
}

func primesLostReset() *scenario {
	s := primes()
	s.desc = "primes, but the router drops the server's RSTs for a while: the client keeps sending numbers every 100 ms and each draws a NO_SOCKET answer until one gets through"
	s.variants = []variant{"primeslost-v4-eth-server", "primeslost-v6-eth-client", "primeslost-v4-any-router"}
	s.routed = true
	s.expect = []string{"TCP_ABORT_ON_CLOSE", "NO_SOCKET"}
	s.notes = map[string]string{
		"NO_SOCKET": "the server's first RST (TCP_ABORT_ON_CLOSE) was dropped by the router before this capture point; seen from here, the server plainly lost the connection",
	}
	s.client = func(a *agent) error {
		c, err := a.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		for _, n := range []string{"4", "7", "11", "13", "17", "19"} {
			if _, err := c.Write([]byte(n + "\n")); err != nil {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
		for n := 23; n < 100; n += 2 {
			time.Sleep(100 * time.Millisecond)
			if _, err := fmt.Fprintf(c, "%d\n", n); err != nil {
				return nil // the reset got through
			}
		}
		return errors.New("never reset")
	}
	s.drive = func(ctx context.Context, r *runner) error {
		rule := []string{"FORWARD", "-p", "tcp", "--sport", fmt.Sprint(port), "--tcp-flags", "RST", "RST", "-j", "DROP"}
		if err := r.fw(ctx, nsRouter, append([]string{"-A"}, rule...)...); err != nil {
			return err
		}
		srv, err := r.agent("server")
		if err != nil {
			return err
		}
		defer srv.kill()
		if err := srv.expect("ready", 5*time.Second); err != nil {
			return err
		}
		cli, err := r.agent("client")
		if err != nil {
			return err
		}
		defer cli.kill()
		if err := srv.expect("done", 5*time.Second); err != nil {
			return err
		}
		time.Sleep(350 * time.Millisecond) // three numbers answered into the void
		if err := r.fw(ctx, nsRouter, append([]string{"-D"}, rule...)...); err != nil {
			return err
		}
		if err := cli.wait(10 * time.Second); err != nil {
			return err
		}
		return srv.quit()
	}
	return s
}
