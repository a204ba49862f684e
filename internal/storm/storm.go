// Package storm writes captures of many RSTs, the load that once made
// rstwhy's cost grow faster than its input: N RSTs on one connection
// after its handshake, or N RSTs each on a flow of its own (a RST storm).
// They are load for scaling tests and memory measurements, never evidence
// that a verdict is right.
package storm

import (
	"bufio"
	"encoding/binary"
	"io"
	"time"
)

// Write writes a pcap of n RSTs, one microsecond apart: on one connection
// (after its handshake) when oneConn, else each on a flow of its own.
func Write(w io.Writer, n int, oneConn bool) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	le := binary.LittleEndian
	head := make([]byte, 24)
	le.PutUint32(head[0:], 0xa1b2c3d4)
	le.PutUint16(head[4:], 2)
	le.PutUint16(head[6:], 4)
	le.PutUint32(head[16:], 65535)
	le.PutUint32(head[20:], 1) // Ethernet
	bw.Write(head)
	rec := make([]byte, 16+54)
	frame := func(ts int64, src, dst uint32, sport, dport uint16, flags byte, seq, ack uint32) {
		clear(rec)
		le.PutUint32(rec[0:], uint32(ts/1e9))
		le.PutUint32(rec[4:], uint32(ts%1e9/1e3))
		le.PutUint32(rec[8:], 54)
		le.PutUint32(rec[12:], 54)
		f := rec[16:]
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip := f[14:]
		ip[0], ip[8], ip[9] = 0x45, 64, 6
		binary.BigEndian.PutUint16(ip[2:], 40)
		binary.BigEndian.PutUint32(ip[12:], src)
		binary.BigEndian.PutUint32(ip[16:], dst)
		tcp := ip[20:]
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		binary.BigEndian.PutUint32(tcp[8:], ack)
		tcp[12], tcp[13] = 5<<4, flags
		binary.BigEndian.PutUint16(tcp[14:], 1000)
		bw.Write(rec)
	}
	const syn, rst, ack = 0x02, 0x04, 0x10
	cl, sv := uint32(0x0a000002), uint32(0x0a000001)
	t0 := int64(1_700_000_000e9)
	if oneConn {
		frame(t0, cl, sv, 40000, 80, syn, 100, 0)
		frame(t0, sv, cl, 80, 40000, syn|ack, 500, 101)
		frame(t0, cl, sv, 40000, 80, ack, 101, 501)
	}
	for i := range n {
		ts := t0 + int64(i)*int64(time.Microsecond)
		if oneConn {
			frame(ts, sv, cl, 80, 40000, rst|ack, 501, 101)
			continue
		}
		frame(ts, sv, cl+uint32(i>>14), 80, uint16(1024+i&0x3fff), rst|ack, 501, 101)
	}
	return bw.Flush()
}
