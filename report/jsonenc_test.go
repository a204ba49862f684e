package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

const pcaps = "../testdata/pcaps"

// captureRecords judges every reset of the lab captures, as analyze does.
func captureRecords(tb testing.TB) []Record {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(pcaps, "*.pcap*"))
	var recs []Record
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		// A damaged capture still yields the resets before the damage.
		pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
			recs = append(recs, NewRecord(name, r, heuristics.Explain(r)))
		})
		f.Close()
	}
	if len(recs) == 0 {
		tb.Fatalf("no resets in %s", pcaps)
	}
	return recs
}

// encodingJSON is what jsonlWriter wrote before appendRecord: the oracle.
func encodingJSON(r Record) (string, error) {
	var b bytes.Buffer
	err := newEncoder(&b).Encode(r)
	return b.String(), err
}

// jsonl is what jsonlWriter writes for r.
func jsonl(r Record) (string, error) {
	var b bytes.Buffer
	w, _ := NewWriter("jsonl", &b, Options{})
	err := w.Record(r)
	return b.String(), err
}

// checkSame fails unless jsonlWriter writes what encoding/json does for r,
// or fails as it does: the same error, nothing written.
func checkSame(tb testing.TB, r Record) string {
	tb.Helper()
	want, wantErr := encodingJSON(r)
	got, err := jsonl(r)
	if wantErr != nil || err != nil {
		if wantErr == nil || err == nil || err.Error() != wantErr.Error() || got != "" {
			tb.Fatalf("record %#v:\nencoding/json: %q, %v\njsonlWriter:   %q, %v", r, want, wantErr, got, err)
		}
		return got
	}
	if got != want {
		tb.Fatalf("record %#v: bytes differ (-encoding/json +jsonlWriter):\n%s", r, cmp.Diff(want, got))
	}
	return got
}

func TestAppendRecordCaptures(t *testing.T) {
	for _, r := range captureRecords(t) {
		checkSame(t, r)
	}
}

// TestAppendRecordCases pins each rule down twice: against encoding/json,
// and against the bytes that rule is known to give, so that the test does
// not only agree with whatever encoding/json does today.
func TestAppendRecordCases(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *Record)
		want string // must appear in the line
		why  string
	}{
		{"nil evidence", func(r *Record) { r.Evidence = nil }, `"evidence":null`, "a nil slice is null"},
		{"empty evidence", func(r *Record) { r.Evidence = []string{} }, `"evidence":[]`, "NewRecord's empty slice is []"},
		{"two evidence", func(r *Record) { r.Evidence = []string{"a", "b"} }, `"evidence":["a","b"]`, "comma between, none after"},
		{"html", func(r *Record) { r.Capture = "<a&b>.pcap" }, `"capture":"<a&b>.pcap"`, "SetEscapeHTML(false)"},
		{"quote backslash", func(r *Record) { r.Capture = `a"b\c` }, `"capture":"a\"b\\c"`, "the two ASCII escapes"},
		{"named controls", func(r *Record) { r.Capture = "\b\f\n\r\t" }, `"capture":"\b\f\n\r\t"`, "short escapes since Go 1.22"},
		{"other controls", func(r *Record) { r.Capture = "\x00\x1f\x7f" }, `"capture":"\u0000\u001f` + "\x7f\"", "DEL is not a control for JSON"},
		{"invalid utf8", func(r *Record) { r.Capture = "a\xffb\xc3" }, `"capture":"a\ufffdb\ufffd"`, "each bad byte is one U+FFFD"},
		{"surrogate half", func(r *Record) { r.Capture = "\xed\xa0\x80" }, `"capture":"\ufffd\ufffd\ufffd"`, "UTF-8 of a surrogate is three bad bytes"},
		{"literal U+FFFD", func(r *Record) { r.Capture = "\uFFFD" }, `"capture":"` + "\uFFFD" + `"`, "a valid RuneError is copied"},
		{"line separators", func(r *Record) { r.Capture = "a\u2028b\u2029" }, `"capture":"a\u2028b\u2029"`, "JSONP safety"},
		{"other unicode", func(r *Record) { r.Capture = "é日😀\u202f" }, `"capture":"é日😀` + "\u202f" + `"`, "copied as is"},
		{"zero", func(r *Record) { r.Confidence = 0 }, `"confidence":0,`, "no exponent for zero"},
		{"negative zero", func(r *Record) { r.Confidence = math.Copysign(0, -1) }, `"confidence":-0,`, "the sign is kept"},
		{"1e-6", func(r *Record) { r.Confidence = 1e-6 }, `"confidence":0.000001,`, "smallest plain decimal"},
		{"below 1e-6", func(r *Record) { r.Confidence = 1e-7 }, `"confidence":1e-7,`, "exponent, leading zero dropped"},
		{"1e-10", func(r *Record) { r.Confidence = -1e-10 }, `"confidence":-1e-10,`, "two-digit exponent kept"},
		{"below 1e21", func(r *Record) { r.Confidence = 1e20 }, `"confidence":100000000000000000000,`, "largest plain decimals"},
		{"1e21", func(r *Record) { r.Confidence = 1e21 }, `"confidence":1e+21,`, "positive exponent keeps its plus"},
		{"smallest", func(r *Record) { r.Signals.SinceLastMS = 5e-324 }, `"ms_since_last_packet":5e-324,`, "denormal"},
		{"largest", func(r *Record) { r.Signals.SincePeerMS = -math.MaxFloat64 }, `"ms_since_peer_packet":-1.7976931348623157e+308,`, "three-digit exponent"},
		{"ms", func(r *Record) { r.Signals.SinceLastMS = 100.565 }, `"ms_since_last_packet":100.565,`, "shortest round trip"},
		{"omitempty zero", func(r *Record) {}, `"handshake_seen":false,"ttl":0,"ip_id":0},"followup":false,"connection":{"first_frame":0,`, "all five left out"},
		{"omitempty connection", func(r *Record) {}, `"keepalives":0,"history":"","stage":""}}` + "\n", "no closed_first, no ladder"},
		{"ladder", func(r *Record) {
			r.Connection.ClosedFirst = "server"
			r.Ladder = &Ladder{Packets: []LadderPacket{{Frame: 3, Role: "rst"}, {Kind: "keepalive"}}}
		}, `"history":"","stage":""},"ladder":{"relative":false,"earlier_packets":0,"packets":[{"frame":3,"time":"","ms_since_previous":0,"from":"","flags":"","seq":0,"ack":0,"len":0,"window":0,"role":"rst"},{"frame":0,`, "ladder after the connection"},
		{"omitempty set", func(r *Record) {
			r.FollowupOf, r.CopyOf, r.Signals.ZeroWindowBy, r.Signals.ResetterTTLMin, r.Signals.ResetterTTLMax = -1, 9, "client", 1, 255
		}, `"ttl":0,"resetter_ttl_min":1,"resetter_ttl_max":255,"ip_id":0},"followup":false,"followup_of":-1,"copy_of":9,"connection":`, "all five written"},
		{"caused_by", func(r *Record) {
			r.CopyOf, r.CausedBy = 9, &CausedBy{Frame: 3, Event: "upstream_rst", Conn: "10.0.0.1:40000 -> [fd00::2]:80", DelayMS: 500.524}
		}, `"copy_of":9,"caused_by":{"frame":3,"event":"upstream_rst","conn":"10.0.0.1:40000 -> [fd00::2]:80","delay_ms":500.524},"connection":`, "after copy_of, before group"},
		{"vendor reason", func(r *Record) {
			r.RSTPayload = "x"
			r.VendorReason = &VendorReason{Device: "Citrix NetScaler", Code: 9300, Text: "idle", Where: "tcp_window", Corroborated: true}
		}, `"rst_payload":"x","vendor_reason":{"device":"Citrix NetScaler","code":9300,"text":"idle","where":"tcp_window","corroborated":true},"connection":`, "after rst_payload; peer left out"},
		{"vendor reason f5", func(r *Record) {
			r.VendorReason = &VendorReason{Device: "F5 BIG-IP", Text: "No server selected", Where: "ethernet_trailer", Peer: true, Corroborated: true}
		}, `"followup":false,"vendor_reason":{"device":"F5 BIG-IP","text":"No server selected","where":"ethernet_trailer","peer":true,"corroborated":true},"connection":`, "code left out"},
		{"extremes", func(r *Record) { r.Frame, r.Seq, r.Sport = math.MinInt64, math.MaxUint32, math.MaxUint16 },
			`"frame":-9223372036854775808,`, "full range of each width"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{Evidence: []string{}}
			tt.edit(&r)
			got := checkSame(t, r)
			if !strings.Contains(got, tt.want) {
				t.Errorf("%s: %q lacks %q", tt.why, got, tt.want)
			}
		})
	}
}

func TestAppendRecordUnsupported(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, set := range []func(*Record){
			func(r *Record) { r.Confidence = f },
			func(r *Record) { r.Signals.SinceLastMS = f },
			func(r *Record) { r.Signals.SincePeerMS = f },
			func(r *Record) { r.Confidence, r.Signals.SincePeerMS = -1, -f }, // the first bad field names the error
		} {
			var r Record
			set(&r)
			checkSame(t, r)
			b, err := appendRecord([]byte("kept"), &r)
			var uv *json.UnsupportedValueError
			if !errors.As(err, &uv) || string(b) != "kept" {
				t.Errorf("appendRecord(%v) = %q, %v; want the prefix alone and an UnsupportedValueError", f, b, err)
			}
		}
	}
}

// TestPlain checks the word test of appendString against the byte test:
// every pair of byte values in every two neighbouring positions, where a
// borrow from one byte could hide or fake the other, then random words of
// the bytes at the edges of the test.
func TestPlain(t *testing.T) {
	isPlain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for pos := range 7 {
		for c := range 1 << 16 {
			w := []byte("abcdefgh")
			w[pos], w[pos+1] = byte(c), byte(c>>8)
			if got, want := plain(word(string(w))), isPlain(w[pos]) && isPlain(w[pos+1]); got != want {
				t.Fatalf("plain(%q) = %v, want %v", w, got, want)
			}
		}
	}
	edges := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"' + 1, '\\' - 1, '\\', '\\' + 1, 0x7f, 0x80, 0xa2, 0xdc, 0xff}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		w := make([]byte, 8)
		want := true
		for i := range w {
			w[i] = edges[rng.IntN(len(edges))]
			want = want && isPlain(w[i])
		}
		if got := plain(word(string(w))); got != want {
			t.Fatalf("plain(%q) = %v, want %v", w, got, want)
		}
	}
}

// TestAppendRecordRandom compares many records with every field filled
// at random: strings of every kind of byte, floats of every magnitude,
// omitempty fields zero and not.
func TestAppendRecordRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		checkSame(t, randomRecord(t, rng))
	}
}

// randomRecord fills every field encoding/json writes, through reflection,
// so that a field added to Record or heuristics.Signals and not to
// appendRecord fails TestAppendRecordRandom.
func randomRecord(tb testing.TB, rng *rand.Rand) Record {
	tb.Helper()
	var r Record
	fill(tb, rng, reflect.ValueOf(&r).Elem())
	return r
}

func fill(tb testing.TB, rng *rand.Rand, v reflect.Value) {
	tb.Helper()
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		if sf.Tag.Get("json") == "-" || !sf.IsExported() {
			continue
		}
		zero := rng.IntN(4) == 0 // omitempty fields need zeros often
		switch f.Kind() {
		case reflect.Struct:
			fill(tb, rng, f)
		case reflect.Pointer:
			if !zero && f.Type().Elem().Kind() == reflect.Struct {
				f.Set(reflect.New(f.Type().Elem()))
				fill(tb, rng, f.Elem())
			} else if !zero {
				tb.Fatalf("%s: no generator for %s; teach fill", sf.Name, f.Type())
			}
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.Struct {
				if !zero {
					f.Set(reflect.MakeSlice(f.Type(), rng.IntN(4), 4))
					for i := range f.Len() {
						fill(tb, rng, f.Index(i))
					}
				}
				continue
			}
			if f.Type().Elem().Kind() != reflect.String {
				tb.Fatalf("%s: no generator for %s; teach fill", sf.Name, f.Type())
			}
			switch {
			case zero:
				// nil: null
			case rng.IntN(3) == 0:
				f.Set(reflect.MakeSlice(f.Type(), 0, 0))
			default:
				ss := make([]string, 1+rng.IntN(4))
				for i := range ss {
					ss[i] = randomString(rng)
				}
				f.Set(reflect.ValueOf(ss))
			}
		case reflect.String:
			if !zero {
				f.SetString(randomString(rng))
			}
		case reflect.Bool:
			f.SetBool(!zero && rng.IntN(2) == 0)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if !zero {
				f.SetInt(int64(rng.Uint64()) >> (64 - f.Type().Bits()))
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if !zero {
				f.SetUint(rng.Uint64() >> (64 - f.Type().Bits()))
			}
		case reflect.Float64:
			if !zero {
				f.SetFloat(randomFloat(rng))
			}
		default:
			tb.Fatalf("%s: no generator for %s; teach fill", sf.Name, f.Type())
		}
	}
}

// randomFloat draws finite floats from around encoding/json's cutoffs,
// from values like the measured ones, and from all bit patterns.
func randomFloat(rng *rand.Rand) float64 {
	var f float64
	switch rng.IntN(4) {
	case 0:
		edges := []float64{1e-6, 1e21, 1e-7, 1e20, 1e-10, 1e-100, 5e-324, math.MaxFloat64,
			math.SmallestNonzeroFloat64 * 3, 0.1, 0.65, 1, 1e15, 123456789.125}
		f = edges[rng.IntN(len(edges))]
		switch rng.IntN(3) {
		case 0:
			f = math.Nextafter(f, 0)
		case 1:
			f = min(math.Nextafter(f, math.Inf(1)), math.MaxFloat64)
		}
	case 1:
		f = float64(rng.Int64N(1e10)) / 1000 // milliseconds from microseconds
	case 2:
		f = math.Pow(10, rng.Float64()*60-30) * rng.Float64()
	default:
		for f = math.Inf(1); math.IsInf(f, 0) || math.IsNaN(f); {
			f = math.Float64frombits(rng.Uint64())
		}
	}
	if rng.IntN(4) == 0 {
		f = -f
	}
	return f
}

// randomString joins pieces that each take a different path through
// encoding/json's quoting, and random bytes, valid UTF-8 or not.
func randomString(rng *rand.Rand) string {
	pieces := []string{"frame 14: RST+ACK from the server", " ", "<a&b>", `"`, `\`, "\b", "\f", "\n", "\r", "\t",
		"\x00", "\x01", "\x1f", "\x7f", "é", "日本", "😀", "\u2028", "\u2029", "\u202a", "\uFFFD", "\ufeff",
		"\xff", "\xc3", "\xe6\x97", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "100.6 ms", "10.200.1.1:5000"}
	var b []byte
	for range rng.IntN(8) {
		switch rng.IntN(4) {
		case 0:
			b = append(b, byte(rng.Uint32()))
		case 1:
			b = append(b, string(rune(rng.Int32N(0x110000)))...)
		default:
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
	}
	return string(b)
}

// FuzzAppendRecord varies the strings and floats of a real record.
func FuzzAppendRecord(f *testing.F) {
	recs := captureRecords(f)
	for i := 0; i < len(recs); i += 7 {
		r := &recs[i]
		ev := ""
		if len(r.Evidence) > 0 {
			ev = r.Evidence[0]
		}
		f.Add(r.Capture, ev, r.Confidence, r.Signals.SinceLastMS, r.FollowupOf, r.Followup)
	}
	f.Add("<a&b>\u2028\xff\x00\"\\", "\xed\xa0\x80\uFFFD\x7f", 1e-7, 1e21, int64(-1), true)
	f.Add("", "", math.NaN(), math.Inf(-1), int64(0), false)
	base := recs[0]
	f.Fuzz(func(t *testing.T, s1, s2 string, f1, f2 float64, n int64, noEvidence bool) {
		r := base
		r.Capture, r.Client, r.KernelReason = s1, s2, s1+s2
		r.Evidence = []string{s2, s1}
		if noEvidence {
			r.Evidence = nil
		}
		r.Confidence, r.Signals.SinceLastMS, r.Signals.SincePeerMS = f1, f2, f1*f2
		r.Signals.ZeroWindowBy = s2
		r.FollowupOf, r.CopyOf = n, n>>32
		r.Signals.ResetterTTLMin, r.Signals.ResetterTTLMax = uint8(n), uint8(n>>8)
		checkSame(t, r)
	})
}

// TestJSONDocument compares the json format with the document one
// json.Encoder with SetIndent writes: jsonWriter streams the head and
// each record indented alone, then the rest, and must come to the same
// bytes.
func TestJSONDocument(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lab := captureRecords(t)
	tests := []struct {
		name     string
		recs     []Record
		captures []Capture
	}{
		{"nothing", nil, nil},
		{"no resets", nil, []Capture{{File: "<empty>.pcap", Frames: 3}}},
		{"lab captures", lab, []Capture{{File: "a.pcap", Skipped: map[string]int64{"Linux SLL2": 2, "<x>": 1},
			UndecodableFrames: []int64{4}, Warning: "frame 9: \xff\u2028"}, {File: "b", Error: "not a pcap"}}},
		{"random", func() []Record {
			recs := make([]Record, 300)
			for i := range recs {
				recs[i] = randomRecord(t, rng)
			}
			return recs
		}(), []Capture{{File: "r.pcap"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := oldJSONDocument(t, tt.recs, tt.captures)
			var got bytes.Buffer
			w, _ := NewWriter("json", &got, Options{Version: "v1.2.3 <&>"})
			for _, r := range tt.recs {
				if err := w.Record(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(tt.captures); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got.String()); diff != "" {
				t.Errorf("document differs (-encoding/json +jsonWriter):\n%s", diff)
			}
		})
	}
	t.Run("NaN", func(t *testing.T) {
		// A record JSON cannot hold is refused and left out: the records
		// before it are already written, and the document stays valid.
		var got bytes.Buffer
		w, _ := NewWriter("json", &got, Options{Version: "v1.2.3 <&>"})
		bad := lab[0]
		bad.Signals.SincePeerMS = math.NaN()
		var uv *json.UnsupportedValueError
		for i, r := range []Record{lab[0], bad, lab[1]} {
			if err := w.Record(r); (i == 1) != errors.As(err, &uv) {
				t.Errorf("record %d: %v", i, err)
			}
		}
		if err := w.Close(nil); err != nil {
			t.Fatal(err)
		}
		if want := oldJSONDocument(t, []Record{lab[0], lab[1]}, nil); got.String() != want {
			t.Errorf("document differs (-want +got):\n%s", cmp.Diff(want, got.String()))
		}
	})
}

// oldJSONDocument is the json format as encoding/json writes it, the
// document as one struct.
func oldJSONDocument(tb testing.TB, recs []Record, captures []Capture) string {
	tb.Helper()
	if recs == nil {
		recs = []Record{}
	}
	doc := struct {
		Schema   int            `json:"schema_version"`
		Version  string         `json:"rstwhy_version"`
		Resets   []Record       `json:"resets"`
		Captures []Capture      `json:"captures"`
		Summary  map[string]int `json:"summary"`
	}{SchemaVersion, "v1.2.3 <&>", recs, captures, countCauses(recs)}
	var b bytes.Buffer
	enc := newEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// countCauses counts records by summaryKey.
func countCauses(recs []Record) map[string]int {
	m := map[string]int{}
	for i := range recs {
		m[summaryKey(&recs[i])]++
	}
	return m
}

// failWriter fails every write after the first ok ones.
type failWriter struct{ ok, writes int }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.ok {
		return 0, errDiskFull
	}
	return len(p), nil
}

// TestJSONLWriteError: after a failed write, jsonlWriter writes nothing
// more and repeats the error, as json.Encoder did.
func TestJSONLWriteError(t *testing.T) {
	fw := &failWriter{ok: 1}
	w, _ := NewWriter("jsonl", fw, Options{})
	r := Record{Evidence: []string{}}
	for i, want := range []error{nil, errDiskFull, errDiskFull, errDiskFull} {
		if err := w.Record(r); !errors.Is(err, want) {
			t.Errorf("record %d: %v, want %v", i, err, want)
		}
	}
	if fw.writes != 2 {
		t.Errorf("%d writes, want 2: none after the failure", fw.writes)
	}
}

func BenchmarkRecordJSON(b *testing.B) {
	recs := captureRecords(b)
	var size int
	for _, r := range recs {
		line, _ := encodingJSON(r)
		size += len(line)
	}
	b.Run("encoding/json", func(b *testing.B) {
		enc := newEncoder(io.Discard)
		b.SetBytes(int64(size / len(recs)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := enc.Encode(recs[i%len(recs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("appendRecord", func(b *testing.B) {
		w, _ := NewWriter("jsonl", io.Discard, Options{})
		b.SetBytes(int64(size / len(recs)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := w.Record(recs[i%len(recs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
