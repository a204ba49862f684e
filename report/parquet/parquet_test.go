package parquet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"

	"github.com/rstwhy/rstwhy/appctx"
	"github.com/rstwhy/rstwhy/correlate"
	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/report"
	"github.com/rstwhy/rstwhy/report/parquet"
	"github.com/rstwhy/rstwhy/track"
)

const pcaps = "../../testdata/pcaps"

// labCaptures are the lab's captures, each with its records as analyze
// makes them: judged, then grouped.
type labCapture struct {
	name string
	recs []report.Record
}

func labCaptures(tb testing.TB) []labCapture {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(pcaps, "*.pcap*"))
	// The proxy cascades, for caused_by.
	cascades, _ := filepath.Glob(filepath.Join(pcaps, "..", "pcaps-servers", "cascade-*.pcap"))
	files = append(files, cascades...)
	slices.Sort(files) // as readDir sorts the records read back
	var out []labCapture
	n := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		c := labCapture{name: name}
		corr := correlate.Correlator{MaxOpen: 4096}
		// With application context, as analyze runs by default: the app
		// columns round-trip too.
		newJudge := func() (track.Observer, func(*track.Reset) report.Record) {
			o := &appctx.Observer{}
			return o, func(r *track.Reset) report.Record {
				a, ok := o.Take(r.Packet.Frame)
				rec := report.NewRecord(name, r, heuristics.ExplainApp(r, &a))
				if ok && (a.Protocol != "" || a.Kept != [2]int{}) {
					rec.App = report.NewApp(&a)
				}
				return rec
			}
		}
		// A damaged capture still yields the resets before the damage.
		pipeline.RunObserved(context.Background(), f, pipeline.Options{}, newJudge, func(r report.Record) {
			r.Correlate(&corr)
			c.recs = append(c.recs, r)
		})
		f.Close()
		out = append(out, c)
		n += len(c.recs)
	}
	if n == 0 {
		tb.Fatalf("no resets in %s", pcaps)
	}
	return out
}

// jsonLines is what --format jsonl writes for recs.
func jsonLines(tb testing.TB, recs []report.Record) []string {
	tb.Helper()
	var b bytes.Buffer
	w, _ := report.NewWriter("jsonl", &b, report.Options{})
	for _, r := range recs {
		if err := w.Record(r); err != nil {
			tb.Fatal(err)
		}
	}
	return strings.SplitAfter(strings.TrimSuffix(b.String(), "\n"), "\n")
}

// readRow is a row as a reader that knows only the README's schema reads
// it: the column names are restated here, not taken from the writer.
type readRow struct {
	Capture         string   `parquet:"capture"`
	Frame           int64    `parquet:"frame"`
	Time            int64    `parquet:"time"`
	TimeNS          int64    `parquet:"time_ns"`
	Src             string   `parquet:"src"`
	Sport           int32    `parquet:"sport"`
	Dst             string   `parquet:"dst"`
	Dport           int32    `parquet:"dport"`
	Flags           string   `parquet:"flags"`
	Seq             int64    `parquet:"seq"`
	Ack             int64    `parquet:"ack"`
	Client          string   `parquet:"client"`
	Server          string   `parquet:"server"`
	Resetter        string   `parquet:"resetter"`
	ClientGuessed   bool     `parquet:"client_guessed"`
	State           string   `parquet:"state"`
	Cause           string   `parquet:"cause"`
	Confidence      float64  `parquet:"confidence"`
	KernelReason    string   `parquet:"kernel_reason"`
	Evidence        []string `parquet:"evidence,list"`
	PeerUnanswered  int64    `parquet:"signals_peer_bytes_unanswered"`
	PeerUnacked     int64    `parquet:"signals_peer_bytes_unacked"`
	ResetterUnacked int64    `parquet:"signals_resetter_bytes_unacked"`
	ZeroWindow      bool     `parquet:"signals_zero_window_before"`
	ZeroWindowBy    *string  `parquet:"signals_zero_window_by,optional"`
	ResetterFIN     bool     `parquet:"signals_resetter_sent_fin"`
	PeerFIN         bool     `parquet:"signals_peer_sent_fin"`
	SinceLastMS     float64  `parquet:"signals_ms_since_last_packet"`
	SincePeerMS     float64  `parquet:"signals_ms_since_peer_packet"`
	Retransmits     int64    `parquet:"signals_resetter_retransmits"`
	KeepaliveRun    int64    `parquet:"signals_resetter_keepalives_unanswered"`
	Handshake       bool     `parquet:"signals_handshake_seen"`
	TTL             int32    `parquet:"signals_ttl"`
	ResetterTTLMin  *int32   `parquet:"signals_resetter_ttl_min,optional"`
	ResetterTTLMax  *int32   `parquet:"signals_resetter_ttl_max,optional"`
	IPID            int32    `parquet:"signals_ip_id"`
	Followup        bool     `parquet:"followup"`
	FollowupOf      *int64   `parquet:"followup_of,optional"`
	CopyOf          *int64   `parquet:"copy_of,optional"`
	Group           *int64   `parquet:"group,optional"`
	CausedByFrame   *int64   `parquet:"caused_by_frame,optional"`
	CausedByEvent   *string  `parquet:"caused_by_event,optional"`
	CausedByConn    *string  `parquet:"caused_by_conn,optional"`
	CausedByDelayMS *float64 `parquet:"caused_by_delay_ms,optional"`
	RSTPayload      *string  `parquet:"rst_payload,optional"`
	VendorDevice    *string  `parquet:"vendor_device,optional"`
	VendorCode      *int32   `parquet:"vendor_code,optional"`
	VendorText      *string  `parquet:"vendor_text,optional"`
	VendorWhere     *string  `parquet:"vendor_where,optional"`
	VendorPeer      *bool    `parquet:"vendor_peer,optional"`
	VendorCorrob    *bool    `parquet:"vendor_corroborated,optional"`

	ConnFirstFrame        int64   `parquet:"connection_first_frame"`
	ConnStartNS           int64   `parquet:"connection_start_ns"`
	ConnDurationMS        float64 `parquet:"connection_duration_ms"`
	ConnClientPackets     int64   `parquet:"connection_client_packets"`
	ConnServerPackets     int64   `parquet:"connection_server_packets"`
	ConnClientBytes       int64   `parquet:"connection_client_bytes"`
	ConnServerBytes       int64   `parquet:"connection_server_bytes"`
	ConnClosedFirst       *string `parquet:"connection_closed_first,optional"`
	ConnIdleMS            float64 `parquet:"connection_idle_ms"`
	ConnClientRetransmits int64   `parquet:"connection_client_retransmits"`
	ConnServerRetransmits int64   `parquet:"connection_server_retransmits"`
	ConnZeroWindows       int64   `parquet:"connection_zero_window_adverts"`
	ConnZeroWindowProbes  int64   `parquet:"connection_zero_window_probes"`
	ConnKeepalives        int64   `parquet:"connection_keepalives"`
	ConnHistory           string  `parquet:"connection_history"`
	ConnStage             string  `parquet:"connection_stage"`

	AppProtocol        *string `parquet:"app_protocol,optional"`
	AppByPort          *bool   `parquet:"app_by_port,optional"`
	AppClientKept      *int32  `parquet:"app_client_bytes_kept,optional"`
	AppServerKept      *int32  `parquet:"app_server_bytes_kept,optional"`
	AppClientFromStart *bool   `parquet:"app_client_from_start,optional"`
	AppServerFromStart *bool   `parquet:"app_server_from_start,optional"`
	AppRequest         *string `parquet:"app_request,optional"`
	AppHost            *string `parquet:"app_host,optional"`
	AppRequestLength   *int64  `parquet:"app_request_length,optional"`
	AppRequestHead     *int64  `parquet:"app_request_head,optional"`
	AppResponse        *string `parquet:"app_response,optional"`
	AppStatus          *int32  `parquet:"app_status,optional"`
	AppResponseLength  *int64  `parquet:"app_response_length,optional"`
	AppAnsweredAfter   *int64  `parquet:"app_answered_after,optional"`
	AppSNI             *string `parquet:"app_sni,optional"`
	AppALPN            *string `parquet:"app_alpn,optional"`
	AppClientTLSLast   *string `parquet:"app_client_tls_last,optional"`
	AppServerTLSLast   *string `parquet:"app_server_tls_last,optional"`
	AppClientBanner    *string `parquet:"app_client_banner,optional"`
	AppServerBanner    *string `parquet:"app_server_banner,optional"`
}

// record turns a row back into a record, NULL into the zero the JSON
// leaves out.
func (r *readRow) record() report.Record {
	var cb *report.CausedBy
	if r.CausedByFrame != nil {
		cb = &report.CausedBy{Frame: *r.CausedByFrame, Event: deref(r.CausedByEvent), Conn: deref(r.CausedByConn), DelayMS: deref(r.CausedByDelayMS)}
	}
	var vendor *report.VendorReason
	if r.VendorDevice != nil {
		vendor = &report.VendorReason{Device: *r.VendorDevice, Code: int(deref(r.VendorCode)), Text: deref(r.VendorText),
			Where: deref(r.VendorWhere), Peer: deref(r.VendorPeer), Corroborated: deref(r.VendorCorrob)}
	}
	rec := report.Record{
		CausedBy:     cb,
		VendorReason: vendor,
		Capture:      r.Capture, Frame: r.Frame,
		Time: time.Unix(0, r.TimeNS).UTC().Format(report.TimeFormat),
		Src:  r.Src, Sport: uint16(r.Sport), Dst: r.Dst, Dport: uint16(r.Dport),
		Flags: r.Flags, Seq: uint32(r.Seq), Ack: uint32(r.Ack),
		Client: r.Client, Server: r.Server, Resetter: r.Resetter, ClientGuessed: r.ClientGuessed,
		State: r.State, Cause: r.Cause, Confidence: r.Confidence, KernelReason: r.KernelReason,
		Evidence: r.Evidence,
		Signals: report.Signals{
			PeerUnanswered: r.PeerUnanswered, PeerUnacked: r.PeerUnacked, ResetterUnacked: r.ResetterUnacked,
			ZeroWindow: r.ZeroWindow, ZeroWindowBy: deref(r.ZeroWindowBy),
			ResetterFIN: r.ResetterFIN, PeerFIN: r.PeerFIN,
			SinceLastMS: r.SinceLastMS, SincePeerMS: r.SincePeerMS,
			Retransmits: r.Retransmits, KeepaliveRun: r.KeepaliveRun, Handshake: r.Handshake,
			TTL: uint8(r.TTL), ResetterTTLMin: uint8(deref(r.ResetterTTLMin)), ResetterTTLMax: uint8(deref(r.ResetterTTLMax)),
			IPID: uint16(r.IPID),
		},
		Followup: r.Followup, FollowupOf: deref(r.FollowupOf), CopyOf: deref(r.CopyOf), Group: deref(r.Group),
		RSTPayload: deref(r.RSTPayload),
		Connection: report.Connection{
			FirstFrame: r.ConnFirstFrame, Start: time.Unix(0, r.ConnStartNS).UTC().Format(report.TimeFormat),
			DurationMS: r.ConnDurationMS, ClientPackets: r.ConnClientPackets, ServerPackets: r.ConnServerPackets,
			ClientBytes: r.ConnClientBytes, ServerBytes: r.ConnServerBytes, ClosedFirst: deref(r.ConnClosedFirst),
			IdleMS: r.ConnIdleMS, ClientRetransmits: r.ConnClientRetransmits, ServerRetransmits: r.ConnServerRetransmits,
			ZeroWindows: r.ConnZeroWindows, ZeroWindowProbes: r.ConnZeroWindowProbes, Keepalives: r.ConnKeepalives,
			History: r.ConnHistory, Stage: r.ConnStage,
		},
	}
	if r.AppProtocol != nil {
		rec.App = &report.App{
			Protocol: *r.AppProtocol, ByPort: deref(r.AppByPort),
			ClientKept: int(deref(r.AppClientKept)), ServerKept: int(deref(r.AppServerKept)),
			ClientFromStart: deref(r.AppClientFromStart), ServerFromStart: deref(r.AppServerFromStart),
			Request: deref(r.AppRequest), Host: deref(r.AppHost),
			RequestLength: deref(r.AppRequestLength), RequestHead: deref(r.AppRequestHead),
			Response: deref(r.AppResponse), Status: int(deref(r.AppStatus)),
			ResponseLength: deref(r.AppResponseLength), AnsweredAfter: deref(r.AppAnsweredAfter),
			SNI: deref(r.AppSNI), ALPN: deref(r.AppALPN),
			ClientTLSLast: deref(r.AppClientTLSLast), ServerTLSLast: deref(r.AppServerTLSLast),
			ClientBanner: deref(r.AppClientBanner), ServerBanner: deref(r.AppServerBanner),
		}
	}
	return rec
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// readDir reads every Parquet file under dir back into records, in the
// order of their captures and frames, and checks on the way that each
// row sits in the partition of its date and that time is time_ns in
// microseconds.
func readDir(tb testing.TB, dir string) []report.Record {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "date=*", "*.parquet"))
	var recs []report.Record
	for _, name := range files {
		rows, err := pq.ReadFile[readRow](name)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		date := strings.TrimPrefix(filepath.Base(filepath.Dir(name)), "date=")
		for _, r := range rows {
			if got := time.Unix(0, r.TimeNS).UTC().Format(time.DateOnly); got != date {
				tb.Errorf("%s: frame %d of %s: time %s, in the partition of %s", name, r.Frame, r.Capture, got, date)
			}
			if want := time.Unix(0, r.TimeNS).UnixMicro(); r.Time != want {
				tb.Errorf("%s: frame %d: time %d µs, time_ns %d", name, r.Frame, r.Time, r.TimeNS)
			}
			recs = append(recs, r.record())
		}
	}
	slices.SortStableFunc(recs, func(a, b report.Record) int {
		if c := strings.Compare(a.Capture, b.Capture); c != 0 {
			return c
		}
		return int(a.Frame - b.Frame)
	})
	return recs
}

func allRecords(caps []labCapture) []report.Record {
	var recs []report.Record
	for _, c := range caps {
		recs = append(recs, c.recs...)
	}
	return recs
}

// TestSameAsJSONLines writes the lab's records as Parquet, reads them back
// with parquet-go and renders them as JSON Lines: the bytes are those of
// the records written straight as JSON Lines, every field of every record.
func TestSameAsJSONLines(t *testing.T) {
	caps := labCaptures(t)
	dir := t.TempDir()
	w, err := parquet.Create(dir, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	recs := allRecords(caps)
	if !slices.ContainsFunc(recs, func(r report.Record) bool { return r.App != nil && r.App.Status != 0 }) {
		t.Fatal("no record with an HTTP exchange in its app: the app columns would go untested")
	}
	// No lab capture holds a vendor's reason: three records that do,
	// last by their capture's name.
	for i, v := range []report.VendorReason{
		{Device: "F5 BIG-IP", Text: "No server selected", Where: "ethernet_trailer", Peer: true, Corroborated: true},
		{Device: "Citrix NetScaler", Code: 9300, Text: "idle timeout", Where: "tcp_window", Corroborated: true},
		{Device: "Citrix NetScaler", Code: 8201, Text: "stray packet", Where: "tcp_window"},
	} {
		r := recs[0]
		r.Capture, r.Frame, r.VendorReason = "zz-vendor.pcap", int64(i+1), &v
		recs = append(recs, r)
	}
	for _, r := range recs {
		if err := w.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The lab's captures are in name order, and each in frame order.
	want := jsonLines(t, recs)
	got := jsonLines(t, readDir(t, dir))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON Lines of the records read back from Parquet (-want +got):\n%s", diff)
	}
}

// TestSchema reads the column types from a file's footer: the types the
// README promises, which engines map to their own.
func TestSchema(t *testing.T) {
	caps := labCaptures(t)
	dir := t.TempDir()
	w, err := parquet.Create(dir, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Record(caps[0].recs[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "date=*", "part-1-of-1.parquet"))
	if len(files) != 1 {
		t.Fatalf("files %q, want one part-1-of-1.parquet", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := pq.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, c := range pf.Schema().Fields() {
		types[c.Name()] = c.Type().String()
	}
	for _, c := range []struct{ column, want, why string }{
		{"time", "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)", "engines' timestamp; Spark rejects NANOS"},
		{"time_ns", "INT(64,true)", "the exact time"},
		{"frame", "INT(64,true)", ""},
		{"sport", "INT(32,true)", "a port is an integer: signed, as some engines reject unsigned"},
		{"dport", "INT(32,true)", ""},
		{"seq", "INT(64,true)", "a uint32, signed and wider"},
		{"cause", "STRING", ""},
		{"evidence", "LIST", "a list of strings"},
		{"confidence", "DOUBLE", ""},
		{"client_guessed", "BOOLEAN", ""},
		{"signals_ttl", "INT(32,true)", "signals flat, prefixed"},
		{"group", "INT(64,true)", ""},
		{"caused_by_frame", "INT(64,true)", "caused_by flat, prefixed"},
		{"caused_by_event", "STRING", ""},
		{"caused_by_delay_ms", "DOUBLE", ""},
		{"app_protocol", "STRING", "the app object flat, prefixed"},
		{"app_status", "INT(32,true)", ""},
	} {
		if got := types[c.column]; got != c.want {
			t.Errorf("column %s: type %q, want %q (%s)", c.column, got, c.want, c.why)
		}
	}
	// Dictionary encoding is per column chunk.
	dict := map[string]bool{}
	for _, col := range pf.Metadata().RowGroups[0].Columns {
		for _, e := range col.MetaData.Encoding {
			if e.String() == "RLE_DICTIONARY" {
				dict[strings.Join(col.MetaData.PathInSchema, ".")] = true
			}
		}
	}
	for _, c := range []string{"cause", "resetter", "state", "kernel_reason", "capture"} {
		if !dict[c] {
			t.Errorf("column %s is not dictionary-encoded (dictionary columns: %v)", c, dict)
		}
	}
	if v, _ := pf.Lookup("rstwhy.schema_version"); v != "1" {
		t.Errorf("key rstwhy.schema_version = %q, want 1", v)
	}
}

// TestDuckDB reads the lab's records, written by two shards into one
// directory, with DuckDB itself (@duckdb/node-api, installed by .ci/run
// into .ci/node): its row count and counts by cause are the JSON Lines'.
func TestDuckDB(t *testing.T) {
	script, _ := filepath.Abs("../../.ci/node/parquet-totals.mjs")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "@duckdb", "node-api"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or @duckdb/node-api missing under CI (.ci/run installs them): %v", err)
		}
		t.Skipf("node or @duckdb/node-api missing (npm install --prefix .ci/node): %v", err)
	}
	caps := labCaptures(t)
	dir := t.TempDir()
	// Two processes' worth: captures alternate between the shards.
	var recs []report.Record
	for k := 1; k <= 2; k++ {
		w, err := parquet.Create(dir, k, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i := k - 1; i < len(caps); i += 2 {
			for _, r := range caps[i].recs {
				if err := w.Record(r); err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	type totals struct {
		Rows   int            `json:"rows"`
		Causes map[string]int `json:"causes"`
		Types  map[string]string
	}
	var want totals
	want.Causes = map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(strings.Join(jsonLines(t, recs), "")))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct{ Cause string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		want.Rows++
		want.Causes[r.Cause]++
	}
	want.Types = map[string]string{
		"time": "TIMESTAMP WITH TIME ZONE", "sport": "INTEGER", "evidence": "VARCHAR[]",
		"cause": "VARCHAR", "confidence": "DOUBLE", "date": "DATE", "followup_of": "BIGINT",
	}
	cmd := exec.Command(node, script, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.Bytes())
	}
	var got totals
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node's answer %q: %v", out, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DuckDB's totals (-JSON Lines +DuckDB):\n%s", diff)
	}
}

// BenchmarkRecord writes the lab's records, made one date's (the times a
// millisecond apart), over and over: a record an op, as Parquet and, to
// compare, as JSON Lines to io.Discard (the encoding alone). Parquet's
// figures include Close, once.
func BenchmarkRecord(b *testing.B) {
	recs := allRecords(labCaptures(b))
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) report.Record {
		r := recs[i%len(recs)]
		r.Time = t0.Add(time.Duration(i) * time.Millisecond).Format(report.TimeFormat)
		return r
	}
	b.Run("parquet", func(b *testing.B) {
		w, err := parquet.Create(b.TempDir(), 1, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := w.Record(at(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("jsonl", func(b *testing.B) {
		w, _ := report.NewWriter("jsonl", io.Discard, report.Options{})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			w.Record(at(i))
			i++
		}
		w.Close(nil)
	})
}
