package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/capture"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/track"
)

// feedSlowly writes data into w in small pieces with pauses, as tcpdump
// -U writes packets, and returns without closing w.
func feedSlowly(w io.Writer, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 97)
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
		time.Sleep(time.Millisecond)
	}
	return nil
}

// TestLiveQuietPipe: a capture fed through a pipe that then stays open
// gets every reset reported while the pipe is still open, with one worker
// and with several: capture time moves with the wall clock while nothing
// arrives. Cancelling ends the capture; every reset is still emitted.
func TestLiveQuietPipe(t *testing.T) {
	for _, name := range []string{"unread_data_close-primes-v4-eth-server.pcap", "linger_abort-byserver-v6-any-server-ng.pcapng"} {
		data, err := os.ReadFile(filepath.Join(testcap.LabDir(), name))
		if err != nil {
			t.Skip(err)
		}
		want, _ := resetsOf(t, data, Options{})
		if len(want) == 0 {
			t.Fatalf("%s: no resets", name)
		}
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/j%d", name, workers), func(t *testing.T) {
				pr, pw := io.Pipe()
				defer pw.Close()
				go feedSlowly(pw, data)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				got := make(chan int64, len(want))
				done := make(chan error, 1)
				opt := Options{Workers: workers, Quiet: 200 * time.Millisecond, Capture: capture.Config{Live: true, Tick: 20 * time.Millisecond}}
				go func() {
					_, err := Run(ctx, pr, opt, func(r *track.Reset) { got <- r.Packet.Frame })
					done <- err
				}()
				for i, w := range want {
					select {
					case f := <-got:
						if f != w.Packet.Frame {
							t.Fatalf("reset %d: frame %d, want %d", i, f, w.Packet.Frame)
						}
					case err := <-done:
						t.Fatalf("Run returned %v with %d of %d resets out and the pipe open", err, i, len(want))
					case <-time.After(20 * time.Second):
						t.Fatalf("%d of %d resets out 20 s after the feed began, the pipe open", i, len(want))
					}
				}
				cancel()
				select {
				case err := <-done:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("Run after cancel: %v, want context.Canceled", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("Run did not return after cancel")
				}
			})
		}
	}
}

// TestLiveCancelKeepsPending: a reset still inside its quiet window when
// a live capture is cancelled is judged and emitted before Run returns.
func TestLiveCancelKeepsPending(t *testing.T) {
	name := "unread_data_close-primes-v4-eth-server.pcap"
	data, err := os.ReadFile(filepath.Join(testcap.LabDir(), name))
	if err != nil {
		t.Skip(err)
	}
	want, _ := resetsOf(t, data, Options{})
	pr, pw := io.Pipe()
	defer pw.Close()
	fed := make(chan error, 1)
	go func() { fed <- feedSlowly(pw, data) }()
	ctx, cancel := context.WithCancel(context.Background())
	var got []int64
	done := make(chan error, 1)
	// A quiet window far longer than the test: only the cancel ends it.
	opt := Options{Quiet: time.Hour, MaxDelay: time.Hour, Capture: capture.Config{Live: true, Tick: 20 * time.Millisecond}}
	go func() {
		_, err := Run(ctx, pr, opt, func(r *track.Reset) { got = append(got, r.Packet.Frame) })
		done <- err
	}()
	<-fed
	time.Sleep(100 * time.Millisecond) // the last bytes read
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if len(got) != len(want) {
		t.Fatalf("%d resets after cancel, want %d", len(got), len(want))
	}
}
