package pipeline

import "github.com/rstwhy/rstwhy/decode"

// listeners remembers, in frame order, the latest SYN-ACKs each endpoint
// (address and port) sent, so that a RST from that endpoint carries the
// frame of one sent to another peer (decode.Packet.Accepting): the
// sender was listening on the port, and accepting, then. On Linux a
// segment for no connection that reaches a listener is reset with the
// reason TCP_FLAGS (tcp_rcv_state_process, TCP_LISTEN: an ACK); with no
// listener, NO_SOCKET. It lives with the reader, so the answer does not
// depend on how flows are spread over workers.
//
// A direct-mapped table of listenSlots entries: an endpoint whose slot a
// busier one took is forgotten (a RST then says NO_SOCKET, as without
// this table, never a false TCP_FLAGS: the endpoint is checked).
type listeners struct {
	slots []listenSlot
}

type listenSlot struct {
	addr [16]byte
	port uint16
	// The latest two SYN-ACKs, latest first, with a hash of the peer
	// each went to: one is the RST's own connection's, at most.
	frame [2]int64
	peer  [2]uint64
}

const listenSlots = 4096 // a power of two

func (l *listeners) see(p *decode.Packet) {
	f := p.Flags
	if f&(decode.SYN|decode.ACK) != decode.SYN|decode.ACK && f&decode.RST == 0 {
		return
	}
	if l.slots == nil {
		l.slots = make([]listenSlot, listenSlots)
	}
	s := &l.slots[decode.EndpointHash(p.Src, p.SrcPort)&(listenSlots-1)]
	peer := decode.EndpointHash(p.Dst, p.DstPort)
	if f&decode.RST != 0 {
		if s.addr != p.Src || s.port != p.SrcPort {
			return
		}
		for k := range s.frame {
			if s.frame[k] != 0 && s.peer[k] != peer {
				p.Accepting = s.frame[k]
				return
			}
		}
		return
	}
	if s.addr != p.Src || s.port != p.SrcPort {
		*s = listenSlot{addr: p.Src, port: p.SrcPort}
	}
	if s.frame[0] != 0 && s.peer[0] == peer {
		s.frame[0] = p.Frame // a retransmitted SYN-ACK to the same peer
		return
	}
	s.frame[1], s.peer[1] = s.frame[0], s.peer[0]
	s.frame[0], s.peer[0] = p.Frame, peer
}
