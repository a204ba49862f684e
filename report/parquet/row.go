package parquet

import (
	"time"

	"github.com/rstwhy/rstwhy/report"
)

// row is a record as one Parquet row: the JSON schema's fields in its
// order, flat. The tags are the column names and types the README lists.
type row struct {
	Capture       string   `parquet:"capture,dict"`
	Frame         int64    `parquet:"frame"`
	Time          int64    `parquet:"time,timestamp(microsecond:utc)"`
	TimeNS        int64    `parquet:"time_ns"`
	Src           string   `parquet:"src"`
	Sport         int32    `parquet:"sport"`
	Dst           string   `parquet:"dst"`
	Dport         int32    `parquet:"dport"`
	Flags         string   `parquet:"flags,dict"`
	Seq           int64    `parquet:"seq"`
	Ack           int64    `parquet:"ack"`
	Client        string   `parquet:"client"`
	Server        string   `parquet:"server"`
	Resetter      string   `parquet:"resetter,dict"`
	ClientGuessed bool     `parquet:"client_guessed"`
	State         string   `parquet:"state,dict"`
	Cause         string   `parquet:"cause,dict"`
	Confidence    float64  `parquet:"confidence"`
	KernelReason  string   `parquet:"kernel_reason,dict"`
	Evidence      []string `parquet:"evidence,list"`

	PeerUnanswered  int64   `parquet:"signals_peer_bytes_unanswered"`
	PeerUnacked     int64   `parquet:"signals_peer_bytes_unacked"`
	ResetterUnacked int64   `parquet:"signals_resetter_bytes_unacked"`
	ZeroWindow      bool    `parquet:"signals_zero_window_before"`
	ZeroWindowBy    string  `parquet:"signals_zero_window_by,dict,optional"`
	ResetterFIN     bool    `parquet:"signals_resetter_sent_fin"`
	PeerFIN         bool    `parquet:"signals_peer_sent_fin"`
	SinceLastMS     float64 `parquet:"signals_ms_since_last_packet"`
	SincePeerMS     float64 `parquet:"signals_ms_since_peer_packet"`
	Retransmits     int64   `parquet:"signals_resetter_retransmits"`
	KeepaliveRun    int64   `parquet:"signals_resetter_keepalives_unanswered"`
	Handshake       bool    `parquet:"signals_handshake_seen"`
	TTL             int32   `parquet:"signals_ttl"`
	ResetterTTLMin  int32   `parquet:"signals_resetter_ttl_min,optional"`
	ResetterTTLMax  int32   `parquet:"signals_resetter_ttl_max,optional"`
	IPID            int32   `parquet:"signals_ip_id"`

	Followup   bool  `parquet:"followup"`
	FollowupOf int64 `parquet:"followup_of,optional"`
	CopyOf     int64 `parquet:"copy_of,optional"`
	Group      int64 `parquet:"group,optional"`
	// caused_by, flattened; null when the reset follows no upstream event.
	CausedByFrame   int64   `parquet:"caused_by_frame,optional"`
	CausedByEvent   string  `parquet:"caused_by_event,optional"`
	CausedByConn    string  `parquet:"caused_by_conn,optional"`
	CausedByDelayMS float64 `parquet:"caused_by_delay_ms,optional"`
	RSTPayload      string  `parquet:"rst_payload,optional"`
	// vendor_reason, flat: NULL when the RST carries none.
	VendorDevice       string `parquet:"vendor_device,optional"`
	VendorCode         int32  `parquet:"vendor_code,optional"`
	VendorText         string `parquet:"vendor_text,optional"`
	VendorWhere        string `parquet:"vendor_where,optional"`
	VendorPeer         bool   `parquet:"vendor_peer,optional"`
	VendorCorroborated bool   `parquet:"vendor_corroborated,optional"`

	ConnFirstFrame        int64   `parquet:"connection_first_frame"`
	ConnStart             int64   `parquet:"connection_start,timestamp(microsecond:utc)"`
	ConnStartNS           int64   `parquet:"connection_start_ns"`
	ConnDurationMS        float64 `parquet:"connection_duration_ms"`
	ConnClientPackets     int64   `parquet:"connection_client_packets"`
	ConnServerPackets     int64   `parquet:"connection_server_packets"`
	ConnClientBytes       int64   `parquet:"connection_client_bytes"`
	ConnServerBytes       int64   `parquet:"connection_server_bytes"`
	ConnClosedFirst       string  `parquet:"connection_closed_first,dict,optional"`
	ConnIdleMS            float64 `parquet:"connection_idle_ms"`
	ConnClientRetransmits int64   `parquet:"connection_client_retransmits"`
	ConnServerRetransmits int64   `parquet:"connection_server_retransmits"`
	ConnZeroWindows       int64   `parquet:"connection_zero_window_adverts"`
	ConnZeroWindowProbes  int64   `parquet:"connection_zero_window_probes"`
	ConnKeepalives        int64   `parquet:"connection_keepalives"`
	ConnHistory           string  `parquet:"connection_history,dict"`
	ConnStage             string  `parquet:"connection_stage,dict"`

	// The app object, flat; app_protocol is NULL when the record has
	// none (application context off, or nothing to say), "" when it has
	// one that names no protocol.
	AppProtocol          *string `parquet:"app_protocol,optional"`
	AppByPort            bool    `parquet:"app_by_port,optional"`
	AppClientKept        int32   `parquet:"app_client_bytes_kept,optional"`
	AppServerKept        int32   `parquet:"app_server_bytes_kept,optional"`
	AppClientFromStart   bool    `parquet:"app_client_from_start,optional"`
	AppServerFromStart   bool    `parquet:"app_server_from_start,optional"`
	AppRequest           string  `parquet:"app_request,optional"`
	AppHost              string  `parquet:"app_host,optional"`
	AppRequestLength     int64   `parquet:"app_request_length,optional"`
	AppRequestHead       int64   `parquet:"app_request_head,optional"`
	AppResponse          string  `parquet:"app_response,optional"`
	AppStatus            int32   `parquet:"app_status,optional"`
	AppResponseLength    int64   `parquet:"app_response_length,optional"`
	AppAnsweredAfter     int64   `parquet:"app_answered_after,optional"`
	AppSNI               string  `parquet:"app_sni,optional"`
	AppALPN              string  `parquet:"app_alpn,optional"`
	AppClientTLSLast     string  `parquet:"app_client_tls_last,dict,optional"`
	AppServerTLSLast     string  `parquet:"app_server_tls_last,dict,optional"`
	AppClientBanner      string  `parquet:"app_client_banner,optional"`
	AppServerBanner      string  `parquet:"app_server_banner,optional"`
	AppRequests          int32   `parquet:"app_requests,optional"`
	AppLastRequest       string  `parquet:"app_last_request,optional"`
	AppLastRequestFrame  int64   `parquet:"app_last_request_frame,optional"`
	AppLastRequestAt     int64   `parquet:"app_last_request_at,optional"`
	AppLastResponse      string  `parquet:"app_last_response,optional"`
	AppLastStatus        int32   `parquet:"app_last_status,optional"`
	AppLastResponseFrame int64   `parquet:"app_last_response_frame,optional"`
}

// newRow converts r, whose time t is, into its row. The optional columns
// are NULL where the value is zero, as the JSON leaves those fields out.
func newRow(r *report.Record, t time.Time) row {
	ns := t.UnixNano()
	s := &r.Signals
	c := &r.Connection
	// The connection's start is parsed as the record's time is; one that
	// does not parse (a record not made by NewRecord) is 0.
	var start int64
	if st, err := time.Parse(report.TimeFormat, c.Start); err == nil {
		start = st.UnixNano()
	}
	out := row{
		Capture:       r.Capture,
		Frame:         r.Frame,
		Time:          floorDiv(ns, 1000),
		TimeNS:        ns,
		Src:           r.Src,
		Sport:         int32(r.Sport),
		Dst:           r.Dst,
		Dport:         int32(r.Dport),
		Flags:         r.Flags,
		Seq:           int64(r.Seq),
		Ack:           int64(r.Ack),
		Client:        r.Client,
		Server:        r.Server,
		Resetter:      r.Resetter,
		ClientGuessed: r.ClientGuessed,
		State:         r.State,
		Cause:         r.Cause,
		Confidence:    r.Confidence,
		KernelReason:  r.KernelReason,
		Evidence:      r.Evidence,

		PeerUnanswered:  s.PeerUnanswered,
		PeerUnacked:     s.PeerUnacked,
		ResetterUnacked: s.ResetterUnacked,
		ZeroWindow:      s.ZeroWindow,
		ZeroWindowBy:    s.ZeroWindowBy,
		ResetterFIN:     s.ResetterFIN,
		PeerFIN:         s.PeerFIN,
		SinceLastMS:     s.SinceLastMS,
		SincePeerMS:     s.SincePeerMS,
		Retransmits:     s.Retransmits,
		KeepaliveRun:    s.KeepaliveRun,
		Handshake:       s.Handshake,
		TTL:             int32(s.TTL),
		ResetterTTLMin:  int32(s.ResetterTTLMin),
		ResetterTTLMax:  int32(s.ResetterTTLMax),
		IPID:            int32(s.IPID),

		Followup:   r.Followup,
		FollowupOf: r.FollowupOf,
		CopyOf:     r.CopyOf,
		Group:      r.Group,
		RSTPayload: r.RSTPayload,

		ConnFirstFrame:        c.FirstFrame,
		ConnStart:             floorDiv(start, 1000),
		ConnStartNS:           start,
		ConnDurationMS:        c.DurationMS,
		ConnClientPackets:     c.ClientPackets,
		ConnServerPackets:     c.ServerPackets,
		ConnClientBytes:       c.ClientBytes,
		ConnServerBytes:       c.ServerBytes,
		ConnClosedFirst:       c.ClosedFirst,
		ConnIdleMS:            c.IdleMS,
		ConnClientRetransmits: c.ClientRetransmits,
		ConnServerRetransmits: c.ServerRetransmits,
		ConnZeroWindows:       c.ZeroWindows,
		ConnZeroWindowProbes:  c.ZeroWindowProbes,
		ConnKeepalives:        c.Keepalives,
		ConnHistory:           c.History,
		ConnStage:             c.Stage,
	}
	if cb := r.CausedBy; cb != nil {
		out.CausedByFrame, out.CausedByEvent, out.CausedByConn, out.CausedByDelayMS = cb.Frame, cb.Event, cb.Conn, cb.DelayMS
	}
	if a := r.App; a != nil {
		protocol := a.Protocol
		out.AppProtocol, out.AppByPort = &protocol, a.ByPort
		out.AppClientKept, out.AppServerKept = int32(a.ClientKept), int32(a.ServerKept)
		out.AppClientFromStart, out.AppServerFromStart = a.ClientFromStart, a.ServerFromStart
		out.AppRequest, out.AppHost, out.AppRequestLength, out.AppRequestHead = a.Request, a.Host, a.RequestLength, a.RequestHead
		out.AppResponse, out.AppStatus, out.AppResponseLength = a.Response, int32(a.Status), a.ResponseLength
		out.AppAnsweredAfter, out.AppSNI, out.AppALPN = a.AnsweredAfter, a.SNI, a.ALPN
		out.AppClientTLSLast, out.AppServerTLSLast = a.ClientTLSLast, a.ServerTLSLast
		out.AppClientBanner, out.AppServerBanner = a.ClientBanner, a.ServerBanner
		out.AppRequests, out.AppLastRequest, out.AppLastRequestFrame, out.AppLastRequestAt = int32(a.Requests), a.LastRequest, a.LastRequestFrame, a.LastRequestAt
		out.AppLastResponse, out.AppLastStatus, out.AppLastResponseFrame = a.LastResponse, int32(a.LastStatus), a.LastResponseFrame
	}
	if v := r.VendorReason; v != nil {
		out.VendorDevice, out.VendorCode, out.VendorText = v.Device, int32(v.Code), v.Text
		out.VendorWhere, out.VendorPeer, out.VendorCorroborated = v.Where, v.Peer, v.Corroborated
	}
	return out
}

// floorDiv rounds toward minus infinity, so that a time before 1970 falls
// in the microsecond that holds it.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
