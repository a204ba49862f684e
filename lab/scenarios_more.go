package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The scenarios of this file fill gaps of the first corpus with hand-written
// sockets; their captures go to testdata/pcaps-servers with the real
// servers' ones.

// replyWait: a server that answers the first message, goes on with other
// work for a second while the client's next messages arrive, and closes
// with them unread.
func replyWait() *scenario {
	return &scenario{
		name:     "unread_data_close",
		dir:      serversDir,
		expect:   []string{"TCP_ABORT_ON_CLOSE"},
		desc:     "replywait: the server reads one request, answers it, and closes a second later; the client's two later requests, sent right after the answer, are still unread",
		variants: []variant{"replywait-v4-eth-client", "replywait-v6-eth-server", "replywait-v4-any-server-ng"},
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE": "closed a second after the last reply with the client's later requests unread",
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			if _, err := c.Write([]byte("OK\n")); err != nil {
				return err
			}
			time.Sleep(time.Second)
			return c.Close()
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Write([]byte("GET 1\n")); err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			for _, m := range []string{"GET 2\n", "GET 3\n"} {
				if _, err := c.Write([]byte(m)); err != nil {
					return err
				}
				time.Sleep(10 * time.Millisecond)
			}
			return expectReset(drain(c, 3*time.Second))
		},
	}
}

// finQueued: the server closes while its answer is stuck behind the
// client's zero window, so its FIN waits in the send queue and never goes
// out; the client's next request meets a socket in FIN_WAIT1 that its
// application has closed.
func finQueued() *scenario {
	return &scenario{
		name:     "data_after_close",
		dir:      serversDir,
		snaplen:  200,
		expect:   []string{"TCP_ABORT_ON_DATA"},
		desc:     "finqueued: the client (SO_RCVBUF 4096) asks for 1 MiB and does not read; the server's write stalls on the zero window and it closes after 1 s, its FIN queued behind unsent data; the client then sends its next request",
		variants: []variant{"finqueued-v4-eth-client", "finqueued-v6-eth-server", "finqueued-v4-any-server-ng"},
		notes: map[string]string{
			"TCP_ABORT_ON_DATA": "the server's application had closed (FIN_WAIT1), but its FIN was still queued behind data the client's zero window held back: the capture holds no FIN",
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := c.Write(make([]byte, bodySize)); !errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("write: %v, want the deadline (the client's window is zero)", err)
			}
			if err := c.Close(); err != nil {
				return err
			}
			a.mark("closed")
			return nil
		},
		client: func(a *agent) error {
			c, err := a.dial(intOpt(unix.SOL_SOCKET, unix.SO_RCVBUF, 4096))
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Write([]byte("GET /big\n")); err != nil {
				return err
			}
			if err := a.await("write"); err != nil {
				return err
			}
			if _, err := c.Write([]byte("GET /next\n")); err != nil {
				return err
			}
			// Reading would open the window; a second write fails once
			// the RST is in.
			time.Sleep(300 * time.Millisecond)
			_, err = c.Write([]byte("GET /next\n"))
			if !errors.Is(err, unix.ECONNRESET) && !errors.Is(err, unix.EPIPE) {
				return fmt.Errorf("second write: %v, want reset", err)
			}
			return nil
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
			defer cli.kill()
			if err := srv.expect("closed", 5*time.Second); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
			cli.send("write")
			if err := cli.wait(10 * time.Second); err != nil {
				return err
			}
			return srv.quit()
		},
	}
}

// halfClosedLinger2: the server half-closes (its FIN is acknowledged, the
// socket waits in FIN_WAIT2), then sets TCP_LINGER2 -1 and closes: tcp_close
// aborts a FIN_WAIT2 socket with a negative linger2 at once.
func halfClosedLinger2() *scenario {
	return &scenario{
		name:     "linger_abort",
		dir:      serversDir,
		expect:   []string{"TCP_ABORT_ON_LINGER"},
		desc:     "linger2: the server answers, half-closes (shutdown SHUT_WR; the client acks the FIN and sends nothing more), then 300 ms later sets TCP_LINGER2 -1 and closes",
		variants: []variant{"linger2-v4-eth-client", "linger2-v6-eth-server", "linger2-v4-any-server-ng"},
		notes: map[string]string{
			"TCP_ABORT_ON_LINGER": "close() of a FIN_WAIT2 socket with TCP_LINGER2 < 0 (tcp_close): RST+ACK at FIN + 1, nothing unread",
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			if _, err := c.Write([]byte("OK\n")); err != nil {
				return err
			}
			if err := c.CloseWrite(); err != nil {
				return err
			}
			time.Sleep(300 * time.Millisecond) // the FIN is acked: FIN_WAIT2
			rc, err := c.SyscallConn()
			if err != nil {
				return err
			}
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_LINGER2, -1)
			}); err != nil {
				return err
			}
			if serr != nil {
				return serr
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
			// EOF (the FIN), then the RST; the client never closes.
			time.Sleep(time.Second)
			_, err = c.Write([]byte("MORE\n"))
			if !errors.Is(err, unix.ECONNRESET) && !errors.Is(err, unix.EPIPE) {
				return fmt.Errorf("write: %v, want reset", err)
			}
			return nil
		},
	}
}

// synScan: a half-open (SYN) port scanner. The client sends SYNs from a
// raw socket, so its kernel has no socket for them: the open port's
// SYN-ACK draws the client kernel's RST (NO_SOCKET), the closed port's
// RST+ACK refuses.
func synScan() *scenario {
	return &scenario{
		name:     "no_socket",
		dir:      serversDir,
		expect:   []string{"NO_SOCKET"},
		desc:     "synscan: a SYN scanner sends SYNs from a raw socket to an open port (5000) and a closed one (5001); the client kernel resets the open port's SYN-ACK, the server refuses the closed port",
		variants: []variant{"synscan-v4-eth-client", "synscan-v6-eth-server", "synscan-v4-any-server-ng"},
		notes: map[string]string{
			"NO_SOCKET": "the SYN came from a raw socket: the client kernel has no socket for the answer",
		},
		server: listenDiscard, // no handshake completes: nothing is accepted
		client: func(a *agent) error {
			src, err1 := netip.ParseAddr(a.clientAddr)
			dst, err2 := netip.ParseAddr(a.server)
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			for i, p := range []uint16{port, port + 1} {
				if err := sendSYN(src, dst, uint16(45000+i), p, 0x5ca40000+uint32(i)); err != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			return nil
		},
	}
}

// sendSYN sends one TCP SYN with an MSS option from a raw socket. For IPv4
// the TCP checksum is computed here; for IPv6 the kernel fills it in
// (IPV6_CHECKSUM at offset 16).
func sendSYN(src, dst netip.Addr, sport, dport uint16, seq uint32) error {
	seg := make([]byte, 24)
	binary.BigEndian.PutUint16(seg[0:], sport)
	binary.BigEndian.PutUint16(seg[2:], dport)
	binary.BigEndian.PutUint32(seg[4:], seq)
	seg[12] = 6 << 4 // 24 bytes of header
	seg[13] = 0x02   // SYN
	binary.BigEndian.PutUint16(seg[14:], 1024)
	copy(seg[20:], []byte{2, 4, 0x05, 0xb4}) // MSS 1460
	if dst.Is4() {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_TCP)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		binary.BigEndian.PutUint16(seg[16:], tcpChecksum(src.AsSlice(), dst.AsSlice(), seg))
		return unix.Sendto(fd, seg, 0, &unix.SockaddrInet4{Addr: dst.As4()})
	}
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_CHECKSUM, 16); err != nil {
		return err
	}
	return unix.Sendto(fd, seg, 0, &unix.SockaddrInet6{Addr: dst.As16()})
}

// tcpChecksum is the Internet checksum over the IPv4 pseudo-header and the
// segment (RFC 9293 §3.1).
func tcpChecksum(src, dst, seg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	add([]byte{0, unix.IPPROTO_TCP, byte(len(seg) >> 8), byte(len(seg))})
	add(seg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// partingAbort: the client says goodbye (a last message, then its FIN),
// as LDAP's unbind or PostgreSQL's Terminate do. The server reads the
// message and the end of its input, and closes abortively (SO_LINGER
// {on, 0}): nothing is unread, yet the RST comes right after the client's
// last message, which no reply ever answers.
func partingAbort() *scenario {
	return &scenario{
		name:     "linger_abort",
		dir:      serversDir,
		expect:   []string{"TCP_STATE"},
		desc:     "parting: the client sends BYE and half-closes; the server reads BYE and the end of input, then closes with SO_LINGER {on, 0}",
		variants: []variant{"parting-v4-eth-client", "parting-v6-eth-server", "parting-v4-any-server-ng"},
		notes: map[string]string{
			"TCP_STATE": "close() with SO_LINGER {on, 0} after reading the client's parting message and its FIN",
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			if _, err := readLine(c); err != nil {
				return err
			}
			if _, err := readLine(c); !errors.Is(err, io.EOF) {
				return fmt.Errorf("read after BYE: %v, want EOF", err)
			}
			return abort(c)
		},
		client: partingClient,
	}
}

// partingUnread: the same goodbye, but the server never reads it: it
// closes 100 ms after the client's FIN arrived, the message still in its
// receive queue. On the wire the two differ in nothing but time.
func partingUnread() *scenario {
	return &scenario{
		name:     "unread_data_close",
		dir:      serversDir,
		expect:   []string{"TCP_ABORT_ON_CLOSE"},
		desc:     "partingunread: the client sends BYE and half-closes; the server, which never reads, closes 100 ms later with BYE unread",
		variants: []variant{"partingunread-v4-eth-client", "partingunread-v6-eth-server"},
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE": "close() with the client's parting message unread",
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			time.Sleep(300 * time.Millisecond) // BYE and the FIN arrive
			return c.Close()
		},
		client: partingClient,
	}
}

func partingClient(a *agent) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	time.Sleep(100 * time.Millisecond)
	if _, err := c.Write([]byte("BYE\n")); err != nil {
		return err
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	return expectReset(drain(c, 3*time.Second))
}

// listenDiscard listens and closes whatever it accepts, the listener held
// by its goroutine until the agent exits.
func listenDiscard(a *agent) error {
	ln, err := a.listen()
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return nil
}
