package report

import "slices"

// NextSteps returns what to check next for resets of a cause: the usual
// culprits and the settings involved, in the names users already know
// from their servers' configurations and logs. Settings and names are in
// backticks, as Markdown inline code; the strings hold no other markup.
// "followup" (a follow-up's summary key) and an unknown cause get
// advice too. The slice is the caller's.
//
// This is the one table of advice: every report that gives some (the
// Markdown report, the HTML page) reads it here.
func NextSteps(cause string) []string {
	s, ok := nextSteps[cause]
	if !ok {
		s = nextSteps["unknown"]
	}
	return slices.Clone(s)
}

var nextSteps = map[string][]string{
	"unread_data_close": {
		"The resetter's application closed its socket with the peer's data still unread: Linux then sends a RST, not a FIN (`tcp_close`, `data_was_unread`). Find the reply it sent just before the RST in the ladder: an error answered before the request was read.",
		"A server or proxy that answers before reading the request body: Go's `net/http` and Python's `http.server` answer 413 (or 400, 401) and close with the body unread; check the request size limits (`MaxBytesReader`, `client_max_body_size`) and the status codes logged at the RST's time.",
		"nginx: `lingering_close` (`on` by default, `always` reads what the client still sends after an early answer), `lingering_time`, `lingering_timeout`.",
		"Proxies: Envoy's access-log response flags `UC` (upstream connection termination), `UR` (upstream remote reset) and `DC` (downstream connection termination); HAProxy's termination states `SD` (the server aborted during the data phase) and `CD` (the client did). Captured on the proxy with both legs (`tcpdump -i any`), the evidence names the upstream event a reset of the proxy's client follows (`caused_by`): `UF`/`SC` a refusal, `UF`/`sC` a connect timeout, `UR`/`SD` an upstream reset, `UC`/`SH` an upstream close.",
		"TCP proxies: nginx's `stream` module with `proxy_half_close off` (the default) closes both connections when either side closes, so a client still sending when the upstream closes is reset with its data unread (`caused_by` `upstream_fin`); HAProxy's `mode tcp` passes the FIN on instead.",
		"Pipelined or batched requests: a parser that stops at the first bad message and closes leaves the rest unread (a server that writes `ERROR` after the first bad line and closes).",
	},
	"linger_abort": {
		"An abortive close: `SO_LINGER` set to `{on, 0}` before `close()` discards unsent data and sends a RST (Go `SetLinger(0)`, Java `setSoLinger(true, 0)`, .NET `LingerState(true, 0)`); search the resetter's code and libraries for it.",
		"nginx `reset_timedout_connection on` resets connections that timed out (`client_header_timeout`, `client_body_timeout`, `send_timeout`) and those it ends with `return 444`, but not a kept-alive connection at `keepalive_timeout` (a FIN); HAProxy `option nolinger` does the same on every close, and `tcp-request connection reject` resets at once.",
		"A RST a whole number of seconds after the peer's last packet is a timeout giving up: the server's read or header timeout (`client_header_timeout`, Go `ReadTimeout`/`ReadHeaderTimeout`), a proxy's `timeout client`/`timeout server`.",
		"Connection pools and load generators abort connections on shutdown or on their own timeouts; Windows hosts often acknowledge the peer's FIN and reset instead of closing with a FIN.",
	},
	"zero_window_abort": {
		"The side advertising a zero window had stopped reading: a stuck or overloaded consumer (its CPU, thread pool, garbage collector, or the service behind it).",
		"The sender gave up on the stalled reader: a write timeout (nginx `send_timeout`, Go `WriteTimeout`, a proxy's `timeout server`), or `TCP_USER_TIMEOUT` and `net.ipv4.tcp_retries2`, which bound how long Linux keeps probing a zero window.",
		"Receive buffers: `net.ipv4.tcp_rmem`, `SO_RCVBUF` on the reader, the application's own read buffer.",
	},
	"connection_refused": {
		"Nothing listened on that address and port when the SYN came: the service down or restarting, bound to another address (`127.0.0.1` instead of `0.0.0.0`, IPv4 only) or another port; `ss -ltn` on the server.",
		"Behind a load balancer: a backend taken out of service, the gap between the old and the new process in a deploy, a health check that lags.",
		"A full accept queue drops SYNs rather than refusing them (`net.core.somaxconn`, the `listen()` backlog); a refusal means no listener.",
		"A host firewall rule `REJECT --reject-with tcp-reset` looks the same; when the RST's TTL does not fit the server's, rstwhy says `middlebox_reset` instead.",
	},
	"no_socket": {
		"The resetter had no socket for this connection: it restarted, crashed or closed it long ago; check restarts and reboots at the RST's time.",
		"A NAT or load balancer between them forgot the idle connection and the next packet reached a host that never knew it: load balancer and NAT idle timeouts (AWS NLB 350 s, Azure Load Balancer 4 min by default), a firewall's session timeout.",
		"conntrack: `nf_conntrack_tcp_timeout_established`, a full table (`nf_conntrack: table full` in the kernel log, `nf_conntrack_max`), a conntrack flush or a failover to a peer without the state.",
		"Keepalives shorter than the shortest idle timeout on the path keep it open: `net.ipv4.tcp_keepalive_time` (7200 s by default), `tcp_keepalive_intvl`, `tcp_keepalive_probes`, or `TCP_KEEPIDLE` on the socket.",
	},
	"data_after_close": {
		"The resetter had closed (its FIN) and the peer wrote anyway: most often a client reusing a pooled keep-alive connection the server had just closed as idle. Make the client's idle timeout shorter than the server's (Go `Transport.IdleConnTimeout`, Node's `server.keepAliveTimeout` against a load balancer's 60 s, nginx `keepalive_timeout`).",
		"Clients should retry an idempotent request that fails on a reused connection.",
		"On Linux, `net.ipv4.tcp_fin_timeout` and `TCP_LINGER2` decide whether a TIME_WAIT remnant or the whole socket answers; the packets are alike.",
	},
	"keepalive_timeout": {
		"The prober's TCP keepalive ran out with no answer: `net.ipv4.tcp_keepalive_time`, `tcp_keepalive_intvl`, `tcp_keepalive_probes` (or `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT` on the socket).",
		"The peer was gone or unreachable: a crashed or suspended host, a path down, or a NAT, load balancer or firewall that dropped the idle connection (idle timeouts, conntrack `nf_conntrack_tcp_timeout_established`).",
		"Answers to the probes captured on the peer's side but never on the prober's: the answers are lost on the way back (an asymmetric route, a stateful firewall).",
	},
	"retransmission_timeout": {
		"The resetter's data went unacknowledged: loss on the path, a peer that vanished, a route or link down; check interface error counters and the route at the time.",
		"Large segments lost and small ones passing point at an MTU black hole (ICMP \"fragmentation needed\" filtered; `net.ipv4.tcp_mtu_probing`).",
		"The application gave up with an abortive close: its request or connect timeout, `TCP_USER_TIMEOUT`; Linux itself closes silently when `net.ipv4.tcp_retries2` runs out.",
	},
	"timewait_rst": {
		"A segment reached a connection already closed on both sides (TIME_WAIT): a late retransmission, or a new connection on the same four ports too soon (`net.ipv4.tcp_tw_reuse`, clients behind a NAT sharing source ports, `tcp_timestamps` off).",
		"Usually harmless: it matters only when that segment carried data the peer expected to be read.",
	},
	"middlebox_reset": {
		"Something between the two hosts sent it: a firewall rule (`REJECT --reject-with tcp-reset`), an IPS or DPI device, a proxy, a load balancer's idle or policy reset, a censoring middlebox.",
		"The RST's TTL puts its sender at another hop count than the host it claims to be: compare with `traceroute` or `mtr`, and read the logs of the devices at that distance at the RST's time.",
		"Recent changes to security groups, network ACLs, IPS signatures or TLS inspection; conntrack marking the connection INVALID before a REJECT rule.",
		"Where the record has a `vendor_reason`, the load balancer said why: an F5 BIG-IP's cause text names what decided it (`tmsh modify sys db tm.rstcause.log value enable` logs every RST's cause to `/var/log/ltm`; a capture on the BIG-IP with `tcpdump -i 0.0:nnn` carries it in each RST's trailer); a Citrix NetScaler's code is in Citrix's CTX200852, and its idle timeouts (9300-9303) are the virtual server's `cltTimeout` and the service's `svrTimeout`.",
	},
	"invalid_segment": {
		"A segment whose acknowledgement lies outside what the resetter had sent: a stale connection on reused ports, a NAT mapping two flows onto one, a middlebox rewriting sequence numbers (a firewall randomising initial sequence numbers on one side only).",
		"A RST with SYN, FIN or URG set is a crafted packet: a port scanner, a fuzzer, a test tool.",
	},
	"unknown": {
		"Read the ladder: what the resetter sent last, whether the peer's data was acknowledged, how long the connection was idle, what came after the RST.",
		"Capture on both hosts at once: a RST seen on one side only, or with another TTL, was sent by something in between.",
		"The resetter's application and system logs at the RST's time: a restart, a timeout, an error.",
	},
	"followup": {
		"A follow-up answers packets that arrived after the connection was already reset: its cause is the first RST's, whose group says what to check.",
	},
}
