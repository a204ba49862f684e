package report

import (
	"strconv"

	"github.com/rstwhy/rstwhy/appctx"
)

// App is what the application was doing on a reset's connection, read from
// the first bytes each side sent (package appctx): the record's "app",
// there only when application context is on (analyze --app-bytes, on by
// default; --grep). Strings are short and printable (other bytes as \xNN);
// a number that is unknown, or 0, is left out.
type App struct {
	// Protocol is "http", "http2", "tls" or "ssh" when the bytes say so,
	// else the usual service of the server port, ByPort then true; "" when
	// neither says.
	Protocol string `json:"protocol"`
	ByPort   bool   `json:"by_port,omitempty"`
	// Bytes kept of each side, and whether they are its first bytes (the
	// handshake was captured) rather than from mid-stream.
	ClientKept      int  `json:"client_bytes_kept"`
	ServerKept      int  `json:"server_bytes_kept"`
	ClientFromStart bool `json:"client_from_start"`
	ServerFromStart bool `json:"server_from_start"`
	// HTTP/1.x: the connection's first request line, Host and
	// Content-Length, the length of the request head (the blank line
	// included), the response's status line, code and Content-Length, and
	// the client's bytes when the server's first byte came.
	Request        string `json:"request,omitempty"`
	Host           string `json:"host,omitempty"`
	RequestLength  int64  `json:"request_length,omitempty"`
	RequestHead    int64  `json:"request_head,omitempty"`
	Response       string `json:"response,omitempty"`
	Status         int    `json:"status,omitempty"`
	ResponseLength int64  `json:"response_length,omitempty"`
	AnsweredAfter  int64  `json:"answered_after,omitempty"`
	// TLS: the ClientHello's server name and ALPN protocols, and each
	// side's last record seen ("handshake", "application_data", "alert
	// fatal handshake_failure", "alert (encrypted)").
	SNI           string `json:"sni,omitempty"`
	ALPN          string `json:"alpn,omitempty"`
	ClientTLSLast string `json:"client_tls_last,omitempty"`
	ServerTLSLast string `json:"server_tls_last,omitempty"`
	// SSH identification lines.
	ClientBanner string `json:"client_banner,omitempty"`
	ServerBanner string `json:"server_banner,omitempty"`
	// HTTP/1.x on a kept-alive connection: the requests seen (the first
	// included; absent when only one), the latest request line, its frame
	// and the client's bytes before it, and the status line that answered
	// it, with its frame (absent when none came before the RST).
	Requests          int    `json:"requests,omitempty"`
	LastRequest       string `json:"last_request,omitempty"`
	LastRequestFrame  int64  `json:"last_request_frame,omitempty"`
	LastRequestAt     int64  `json:"last_request_at,omitempty"`
	LastResponse      string `json:"last_response,omitempty"`
	LastStatus        int    `json:"last_status,omitempty"`
	LastResponseFrame int64  `json:"last_response_frame,omitempty"`
}

// NewApp turns a parsed context into the record's field.
func NewApp(a *appctx.Context) *App {
	pos := func(n int64) int64 { return max(n, 0) }
	app := &App{
		Protocol: a.Protocol, ByPort: a.ByPort,
		ClientKept: a.Kept[0], ServerKept: a.Kept[1],
		ClientFromStart: a.FromStart[0], ServerFromStart: a.FromStart[1],
		Request: a.Request, Host: a.Host, RequestLength: pos(a.RequestLength), RequestHead: pos(a.RequestHead),
		Response: a.Response, Status: a.Status, ResponseLength: pos(a.ResponseLength),
		AnsweredAfter: pos(a.AnsweredAfter),
		SNI:           a.SNI, ALPN: a.ALPN, ClientTLSLast: a.TLS[0], ServerTLSLast: a.TLS[1],
		ClientBanner: a.Banner[0], ServerBanner: a.Banner[1],
	}
	if a.Requests > 1 {
		app.Requests, app.LastRequest, app.LastRequestFrame, app.LastRequestAt = a.Requests, a.LastRequest, a.LastRequestFrame, pos(a.LastRequestAt)
		app.LastResponse, app.LastStatus, app.LastResponseFrame = a.LastResponse, a.LastStatus, a.LastResponseFrame
	}
	return app
}

func appendApp(b []byte, a *App) []byte {
	b = append(b, `,"app":{"protocol":`...)
	b = appendString(b, a.Protocol)
	if a.ByPort {
		b = append(b, `,"by_port":true`...)
	}
	b = append(b, `,"client_bytes_kept":`...)
	b = strconv.AppendInt(b, int64(a.ClientKept), 10)
	b = append(b, `,"server_bytes_kept":`...)
	b = strconv.AppendInt(b, int64(a.ServerKept), 10)
	b = append(b, `,"client_from_start":`...)
	b = strconv.AppendBool(b, a.ClientFromStart)
	b = append(b, `,"server_from_start":`...)
	b = strconv.AppendBool(b, a.ServerFromStart)
	str := func(key, v string) {
		if v != "" {
			b = append(b, `,"`...)
			b = append(b, key...)
			b = append(b, `":`...)
			b = appendString(b, v)
		}
	}
	num := func(key string, v int64) {
		if v != 0 {
			b = append(b, `,"`...)
			b = append(b, key...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	str("request", a.Request)
	str("host", a.Host)
	num("request_length", a.RequestLength)
	num("request_head", a.RequestHead)
	str("response", a.Response)
	num("status", int64(a.Status))
	num("response_length", a.ResponseLength)
	num("answered_after", a.AnsweredAfter)
	str("sni", a.SNI)
	str("alpn", a.ALPN)
	str("client_tls_last", a.ClientTLSLast)
	str("server_tls_last", a.ServerTLSLast)
	str("client_banner", a.ClientBanner)
	str("server_banner", a.ServerBanner)
	num("requests", int64(a.Requests))
	str("last_request", a.LastRequest)
	num("last_request_frame", a.LastRequestFrame)
	num("last_request_at", a.LastRequestAt)
	str("last_response", a.LastResponse)
	num("last_status", int64(a.LastStatus))
	num("last_response_frame", a.LastResponseFrame)
	return append(b, '}')
}
