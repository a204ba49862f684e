// Package appctx names what the application was doing on a connection
// that was reset: the HTTP/1.x request and response, the TLS server name
// and last record, the SSH banners, or the usual service of the server
// port. It sits beside package track and reads the same segments, through
// track.Observer, so that the tracker's core keeps no application bytes.
//
// Start with Observer: set it as a track.Tracker's Observer. It keeps the
// first Observer.Bytes bytes each side sent, reassembled in sequence order
// from the side's first byte (ISN+1; from the first segment seen when the
// SYN was not captured), and at every RST parses them into a Context,
// which Take hands to whoever judges that reset. Parse is the parser alone,
// for bytes from elsewhere (and the fuzz test).
//
// What is kept: a direction whose first segment starts as something the
// parsers read (an HTTP method or status line, a TLS record, an SSH
// banner, the HTTP/2 preface, PostgreSQL's SSLRequest; anything on a
// port where STARTTLS may come first). The others cost a flag on the
// connection and nothing more. A TLS server's direction keeps no bytes
// (certificates and encrypted records name nothing), only its last
// record. With Grep, the directions not kept are searched as their
// bytes come and keep only a match flag (a Grep of more than 64 bytes
// keeps every direction).
//
// Past the first bytes: on a connection whose first bytes are HTTP/1.x,
// later segments are looked at only for a request line beginning a client
// segment and a status line beginning a server segment after it, so that
// a reset on a kept-alive connection names its latest exchange
// (Context.Requests, LastRequest, LastResponse), a few hundred bytes on
// the heap for a connection that carried a second request.
//
// Memory: a buffer of 2×Bytes a connection while it is filling, outside
// the Go heap (internal/offheap: bytes hold no pointers, and on the heap
// they would raise the collector's goal by half as much again). Once each
// side kept its fill or sent its FIN, or at the first RST, the bytes are
// parsed and the buffer goes back to a free list for the next connection:
// what stays is the Context when the bytes named something (a few hundred
// bytes), else nothing but the slot's counts. Buffers so follow the
// connections still filling, at most the connections open, which the
// tracker's MaxConns bounds; never the capture's length. The Contexts of
// resets not yet judged wait in a queue in frame order (the tracker's
// MaxPending bounds them). The tracker's Conn.ObserverMark holds the
// connection's slot, so that a packet costs no lookup, and marks the
// connections whose later packets change nothing.
//
// Not a goal: reassembling whole streams, or decrypting anything. Bytes
// after a hole in the sequence are kept only once the hole is filled by a
// retransmission that comes before them; a capture cut by a snap length
// keeps what the first cut segment carried and stops there. The output is
// short and printable (other bytes as \xNN), and the parsers never trust a
// length they read.
package appctx
