package report

import (
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/heuristics"
)

// TestNextStepsEveryCause: every cause heuristics can give has advice of
// its own (not the fallback), with balanced backticks, and the culprits
// the issue names are where users look for them.
func TestNextStepsEveryCause(t *testing.T) {
	for _, c := range heuristics.Causes() {
		s, ok := nextSteps[string(c)]
		if !ok || len(s) == 0 {
			t.Errorf("%s: no advice", c)
		}
		for _, line := range s {
			if strings.Count(line, "`")%2 != 0 {
				t.Errorf("%s: unbalanced backticks: %s", c, line)
			}
		}
	}
	for _, tc := range []struct{ cause, want, why string }{
		{"unread_data_close", "`lingering_close`", "nginx's setting for early answers"},
		{"unread_data_close", "413", "Go's and Python's servers answer 413"},
		{"unread_data_close", "`UC`", "Envoy response flags"},
		{"unread_data_close", "`SD`", "HAProxy termination states"},
		{"keepalive_timeout", "`net.ipv4.tcp_keepalive_time`", "the keepalive sysctls"},
		{"no_socket", "conntrack", "a NAT's state"},
		{"no_socket", "idle timeout", "load balancer idle timeouts"},
		{"linger_abort", "`SO_LINGER`", "the abortive close"},
		{"linger_abort", "`reset_timedout_connection on`", "nginx's abortive close"},
		{"no such cause", "Read the ladder", "an unknown cause gets the fallback"},
	} {
		if got := strings.Join(NextSteps(tc.cause), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%s: NextSteps(%q) lacks %q", tc.why, tc.cause, tc.want)
		}
	}
	NextSteps("linger_abort")[0] = "changed"
	if NextSteps("linger_abort")[0] == "changed" {
		t.Error("NextSteps returned the table itself")
	}
}
