package heuristics

import (
	"fmt"
	"strings"

	"github.com/rstwhy/rstwhy/appctx"
	"github.com/rstwhy/rstwhy/track"
)

// ExplainApp is Explain with what the application was doing (package
// appctx) said in one more evidence sentence, last. The context never
// changes the cause, the confidence or the kernel reason: it names the
// exchange the reset cut, for the reader to weigh.
func ExplainApp(r *track.Reset, a *appctx.Context) Verdict {
	v := Explain(r)
	// A follow-up's or a copy's connection is its first reset's: said
	// there once.
	if a != nil && !v.Followup && r.CopyOf == 0 {
		if s := AppSentence(r, a); s != "" {
			v.Evidence = append(v.Evidence, s)
		}
	}
	return v
}

// AppPrefix begins the sentence AppSentence writes.
const AppPrefix = "application: "

// AppSentence says in one sentence what a's connection was exchanging when
// r came: "application: the client sent POST /upload HTTP/1.1 with
// Content-Length 1048576; the server answered HTTP/1.1 413 Payload Too
// Large after 65536 bytes of the body". "" when a says nothing.
func AppSentence(r *track.Reset, a *appctx.Context) string {
	client := r.Conn.Client
	if client != 0 && client != 1 {
		client = 0
	}
	sent := [2]int64{r.Conn.Sides[client].Bytes, r.Conn.Sides[1-client].Bytes}
	var parts []string
	switch {
	case a.Request != "" || a.Response != "":
		parts = httpParts(a, sent)
	case a.Protocol == "tls":
		parts = tlsParts(a)
	case a.Protocol == "ssh":
		for k, who := range [2]string{"client", "server"} {
			if a.Banner[k] != "" {
				parts = append(parts, fmt.Sprintf("the %s's SSH banner was %s", who, a.Banner[k]))
			}
		}
	case a.Protocol == "http2":
		parts = append(parts, "the client spoke HTTP/2 (prior knowledge, no TLS)")
	case a.ByPort && a.Kept[0]+a.Kept[1] > 0:
		// Without payload the port is all there is, and the reader sees
		// it: said only in the record's app field.
		parts = append(parts, fmt.Sprintf("server port %d is usually %s; its first bytes name no protocol rstwhy reads", r.Conn.Sides[1-client].Port, a.Protocol))
	}
	if len(parts) == 0 {
		return ""
	}
	s := AppPrefix + strings.Join(parts, "; ")
	if !a.FromStart[0] && a.Kept[0] > 0 {
		s += " (the client's bytes kept begin mid-stream: the handshake was not captured)"
	}
	return cutWords(s, maxWord)
}

// maxWord is the longest word an evidence sentence carries: tables wrap
// at spaces only, and an 80-column table has some 70 for evidence. The
// record's app field has the whole (up to 200 bytes of a URL).
const maxWord = 60

// cutWords cuts every word of s longer than n to n, "..." included.
func cutWords(s string, n int) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		if len(w) > n {
			words[i] = w[:n-3] + "..."
		}
	}
	return strings.Join(words, " ")
}

func httpParts(a *appctx.Context, sent [2]int64) []string {
	if a.Requests > 1 && a.LastRequest != "" {
		return keptAliveParts(a, sent)
	}
	var parts []string
	body := int64(-1) // request body bytes the client sent before the RST
	if a.RequestHead >= 0 && sent[0] >= a.RequestHead {
		body = sent[0] - a.RequestHead
	}
	if a.Request != "" {
		s := "the client sent " + a.Request
		if a.Host != "" {
			s += " (Host " + a.Host + ")"
		}
		if a.RequestLength >= 0 {
			s += fmt.Sprintf(" with Content-Length %d", a.RequestLength)
		}
		parts = append(parts, s)
	}
	if a.Response != "" {
		s := "the server answered " + a.Response
		switch {
		case a.AnsweredAfter < 0:
		case a.Request != "" && a.RequestHead >= 0 && a.AnsweredAfter >= a.RequestHead && a.RequestLength > 0:
			s += fmt.Sprintf(" after %s of the body", byteCount(a.AnsweredAfter-a.RequestHead))
		default:
			s += fmt.Sprintf(" after the client's first %s", byteCount(a.AnsweredAfter))
		}
		if a.ResponseLength >= 0 {
			s += fmt.Sprintf(" (Content-Length %d)", a.ResponseLength)
		}
		parts = append(parts, s)
	} else if a.Request != "" && sent[1] == 0 {
		parts = append(parts, "the server sent nothing back")
	}
	if a.Request != "" && a.RequestLength > 0 && body >= 0 {
		parts = append(parts, fmt.Sprintf("by the RST the client had sent %s of the body's %d", byteCount(min(body, a.RequestLength)), a.RequestLength))
	}
	return parts
}

func tlsParts(a *appctx.Context) []string {
	var parts []string
	if a.SNI != "" {
		s := "the client's TLS ClientHello named the server " + a.SNI
		if a.ALPN != "" {
			s += " (ALPN " + a.ALPN + ")"
		}
		parts = append(parts, s)
	} else {
		parts = append(parts, "TLS")
	}
	for k, who := range [2]string{"client", "server"} {
		if a.TLS[k] != "" {
			parts = append(parts, fmt.Sprintf("the %s's last TLS record seen: %s", who, a.TLS[k]))
		}
	}
	return parts
}

// keptAliveParts names the latest exchange of a kept-alive connection, which
// a reset most often cuts, and the first only after it: the first
// request's body and answer say nothing of the reset.
func keptAliveParts(a *appctx.Context, sent [2]int64) []string {
	parts := []string{fmt.Sprintf("the client sent %d requests on this kept-alive connection, the latest %s (frame %d)",
		a.Requests, a.LastRequest, a.LastRequestFrame)}
	if a.LastResponseFrame != 0 {
		parts = append(parts, fmt.Sprintf("the server answered it %s (frame %d)", a.LastResponse, a.LastResponseFrame))
	} else {
		s := "the server had not answered it"
		if d := sent[0] - a.LastRequestAt; d > 0 {
			s += fmt.Sprintf(" (the client had sent %s since it began)", byteCount(d))
		}
		parts = append(parts, s)
	}
	first := "the first was " + a.Request
	if a.Host != "" {
		first += " (Host " + a.Host + ")"
	}
	return append(parts, first)
}
