package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// markdownWriter writes a report for a ticket (GitHub, GitLab, Gitea,
// Jira's Markdown): a summary table of causes, a table of the groups of
// alike resets, then a section per group with its verdict, its example's
// evidence as a list, its ladder in a fenced code block (or a Mermaid
// sequenceDiagram with Options.Mermaid) and what to check next. It keeps
// a Digest, not the records, and writes everything at Close: a report is
// read whole, and its size follows the groups, not the resets.
type markdownWriter struct {
	w      io.Writer
	opt    Options
	digest *Digest
}

// Limits that keep a report readable and pasteable (a ticket's comment
// box takes some 64 KB to 1 MB): sections for the largest groups, a row
// for each of the next ones, Mermaid text within Gitea's default limit.
const (
	mdSections   = 30
	mdGroupRows  = 200
	mdMermaidMax = 5000 // characters of Mermaid text in a page
	mdMermaidMsg = 29   // messages in one diagram (GitLab's and GitHub's renderers stay quick)
)

func (m *markdownWriter) Record(r Record) error {
	m.digest.Add(&r)
	return nil
}

func (m *markdownWriter) Close(captures []Capture) error {
	var b strings.Builder
	d := m.digest
	b.WriteString("# rstwhy report\n\n")
	names := make([]string, 0, len(captures))
	for _, c := range captures {
		names = append(names, "`"+mdCode(filepath.Base(c.File))+"`")
	}
	if len(names) > 10 {
		names = append(names[:10], fmt.Sprintf("and %d more", len(names)-10))
	}
	fmt.Fprintf(&b, "%d %s in %d %s (%s)", d.Total, plural(int64(d.Total), "reset", "resets"),
		len(captures), plural(int64(len(captures)), "capture", "captures"), strings.Join(names, ", "))
	if d.Total > 0 {
		fmt.Fprintf(&b, ", from %s to %s", d.First.Format(tableTimeFormat), d.Last.Format(tableTimeFormat))
	}
	b.WriteString(".")
	if d.Followups > 0 {
		fmt.Fprintf(&b, " Follow-ups (answers drawn by an earlier reset of the same connection): %d.", d.Followups)
	}
	b.WriteString("\n")
	for _, c := range captures {
		switch {
		case c.Error != "":
			fmt.Fprintf(&b, "\n> **%s could not be read:** %s\n", mdText(filepath.Base(c.File)), mdText(c.Error))
		case c.Warning != "":
			fmt.Fprintf(&b, "\n> **%s:** %s\n", mdText(filepath.Base(c.File)), mdText(c.Warning))
		}
		if w := c.GapWarning(); w != "" && c.Error == "" {
			fmt.Fprintf(&b, "\n> **%s:** %s\n", mdText(filepath.Base(c.File)), mdText(w))
		}
	}
	if d.Total == 0 {
		_, err := io.WriteString(m.w, b.String())
		return err
	}

	groups := d.Groups()
	b.WriteString("\n## Causes\n\n| cause | resets | share | groups |\n|---|---:|---:|---:|\n")
	perCause := map[string]int{}
	for _, g := range groups {
		perCause[g.Cause]++
	}
	for _, c := range Sorted(d.ByCause) {
		name, n := c.Name, perCause[c.Name]
		if name == "followup" {
			name, n = "follow-up", 0
		}
		groupsCell := strconv.Itoa(n)
		if n == 0 {
			groupsCell = ""
		}
		fmt.Fprintf(&b, "| `%s` | %d | %.1f%% | %s |\n", mdCell(name), c.Count, 100*float64(c.Count)/float64(d.Total), groupsCell)
	}
	if d.Dropped > 0 {
		fmt.Fprintf(&b, "\n%d resets came after %d groups were open and are counted above but in no group.\n", d.Dropped, MaxGroups)
	}

	fmt.Fprintf(&b, "\n## Groups\n\nAlike resets: the same cause, resetting host and server port, each within %d minutes of the one before. Largest first.\n\n",
		int(GroupGap.Minutes()))
	b.WriteString("| group | cause | resets | resetter | server port | frames | first | last |\n|---:|---|---:|---|---:|---|---|---|\n")
	for i, g := range groups {
		if i == mdGroupRows {
			fmt.Fprintf(&b, "\n%d more groups are not listed (the JSON output has every reset and its group).\n", len(groups)-i)
			break
		}
		id := strconv.Itoa(g.ID)
		if i < mdSections {
			id = fmt.Sprintf("[%d](#%s)", g.ID, groupAnchor(g))
		}
		fmt.Fprintf(&b, "| %s | `%s` | %d | %s %s | %d | %s | %s | %s |\n", id, mdCell(g.Cause), g.Count, g.Resetter,
			mdCell(g.Host), g.ServerPort, frameSpan(g), mdCell(shortTime(g.FirstTime)), mdCell(shortTime(g.LastTime)))
	}

	mermaid := 0 // Mermaid characters written so far
	for i, g := range groups {
		if i == mdSections {
			fmt.Fprintf(&b, "\n---\n\n%d smaller groups have no section here: their rows are above, every reset is in the JSON output (`--format json`).\n", len(groups)-i)
			break
		}
		m.section(&b, g, &mermaid)
	}
	_, err := io.WriteString(m.w, b.String())
	return err
}

// section writes one group's section.
func (m *markdownWriter) section(b *strings.Builder, g *DigestGroup, mermaid *int) {
	r := &g.Example
	fmt.Fprintf(b, "\n## Group %d: `%s`, %d %s\n\n", g.ID, mdCode(g.Cause), g.Count, plural(int64(g.Count), "reset", "resets"))
	fmt.Fprintf(b, "<a id=\"%s\"></a>\n\n", groupAnchor(g))
	conf := fmt.Sprintf("%.2f", g.MinConf)
	if g.MaxConf != g.MinConf {
		conf = fmt.Sprintf("%.2f to %.2f", g.MinConf, g.MaxConf)
	}
	fmt.Fprintf(b, "**Verdict:** `%s`, confidence %s", mdCode(g.Cause), conf)
	if r.KernelReason != "" {
		fmt.Fprintf(b, ", Linux reason `%s`", mdCode(r.KernelReason))
	}
	fmt.Fprintf(b, ". The %s (%s) reset connections to port %d", g.Resetter, mdText(g.Host), g.ServerPort)
	if g.Conns > 1 {
		fmt.Fprintf(b, ", %d of them", g.Conns)
		if g.Conns >= 1000 {
			b.WriteString(" or more")
		}
	}
	b.WriteString(".")
	if g.Followups > 0 {
		fmt.Fprintf(b, " %d %s drawn by earlier resets.", g.Followups, plural(int64(g.Followups), "follow-up", "follow-ups"))
	}
	b.WriteString("\n\n")
	fmt.Fprintf(b, "- capture: `%s`\n", mdCode(filepath.Base(g.Capture)))
	fmt.Fprintf(b, "- first: frame %d, %s\n", g.FirstFrame, shortTime(g.FirstTime))
	if g.Count > 1 {
		fmt.Fprintf(b, "- last: frame %d, %s\n", g.LastFrame, shortTime(g.LastTime))
		frames := make([]string, len(g.Frames))
		for i, f := range g.Frames {
			frames[i] = strconv.FormatInt(f, 10)
		}
		more := ""
		if g.Count > len(g.Frames) {
			more = fmt.Sprintf(" and %d more", g.Count-len(g.Frames))
		}
		fmt.Fprintf(b, "- RST frames: %s%s\n", strings.Join(frames, ", "), more)
	}
	ev := r.KeyFirst()
	fmt.Fprintf(b, "\n**Evidence** (frame %d, the group's example", r.Frame)
	if len(ev) > 1 {
		b.WriteString("; the first carries the verdict")
	}
	b.WriteString("):\n\n")
	for i, e := range ev {
		if i == 0 {
			fmt.Fprintf(b, "%d. **%s**\n", i+1, mdText(e))
		} else {
			fmt.Fprintf(b, "%d. %s\n", i+1, mdText(e))
		}
	}
	if len(ev) == 0 {
		b.WriteString("(none)\n")
	}
	b.WriteString("\n")
	diagram := ""
	if m.opt.Mermaid {
		diagram = mermaidDiagram(r)
		if *mermaid+len(diagram) > mdMermaidMax {
			diagram = "" // past the page's budget: the text ladder
		}
	}
	if diagram != "" {
		*mermaid += len(diagram)
		b.WriteString("```mermaid\n" + diagram + "```\n\n")
		text := string(AppendConnection(nil, r))
		b.WriteString(fence(text, ""))
	} else {
		text := string(AppendConnection(nil, r)) + "\n" + string(AppendLadder(nil, r, TextOptions{EvidenceRefs: true}))
		b.WriteString(fence(text, "text"))
	}
	key := g.Cause
	if g.Followups == g.Count {
		key = "followup"
	}
	b.WriteString("\n**What to check next:**\n\n")
	for _, s := range NextSteps(key) {
		b.WriteString("- " + s + "\n")
	}
}

// groupAnchor is the id a group's section carries, which the groups
// table links to. An explicit anchor: GitHub, GitLab and Gitea make
// headings' ids each their own way.
func groupAnchor(g *DigestGroup) string { return "rstwhy-group-" + strconv.Itoa(g.ID) }

func frameSpan(g *DigestGroup) string {
	if g.FirstFrame == g.LastFrame {
		return strconv.FormatInt(g.FirstFrame, 10)
	}
	return strconv.FormatInt(g.FirstFrame, 10) + "-" + strconv.FormatInt(g.LastFrame, 10)
}

// fence puts text in a fenced code block whose fence no run of backticks
// in it can close.
func fence(text, lang string) string {
	run, longest := 0, 0
	for _, c := range text {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return f + lang + "\n" + text + f + "\n"
}

// mdText escapes what Markdown would take for markup in a sentence:
// emphasis, links, code, HTML, table pipes. What remains reads the same
// in the raw text.
func mdText(s string) string {
	s = Printable(s)
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '|', '#':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// mdCode is s for an inline code span: backticks cannot be escaped there,
// so they become quotes; a pipe is escaped, which GitHub's tables need
// even inside code.
func mdCode(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(Printable(s), "`", "'"), "|", `\|`)
}

// mdCell is s for a table cell, outside code.
func mdCell(s string) string { return strings.ReplaceAll(Printable(s), "|", `\|`) }

// mermaidDiagram draws r's ladder as a Mermaid sequenceDiagram, at most
// mdMermaidMsg messages: those nearest the RST.
func mermaidDiagram(r *Record) string {
	l := r.Ladder
	if l == nil {
		l = r.BuildLadder()
	}
	pk, earlier := l.Packets, l.Earlier
	if len(pk) > mdMermaidMsg-1 {
		at := 0
		for i, p := range pk {
			if p.Role == "rst" {
				at = i
			}
		}
		start := max(0, min(at-(mdMermaidMsg-1)/2, len(pk)-(mdMermaidMsg-1)))
		pk = pk[start : start+mdMermaidMsg-1]
		earlier += int64(start)
	}
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	fmt.Fprintf(&b, "    participant C as client %s\n", mermaidText(r.Client))
	fmt.Fprintf(&b, "    participant S as server %s\n", mermaidText(r.Server))
	if earlier > 0 {
		fmt.Fprintf(&b, "    Note over C,S: %d earlier packets\n", earlier)
	}
	after := false
	for _, p := range pk {
		if p.Role == "after" && !after {
			after = true
			b.WriteString("    Note over C,S: after the RST\n")
		}
		from, to := "C", "S"
		if p.From == "server" {
			from, to = "S", "C"
		}
		arrow := "->>"
		label := fmt.Sprintf("%d %s", p.Frame, packetLabel(&p))
		switch p.Role {
		case "rst":
			arrow = "-x"
			label += " RST"
		case "answered":
			label += " (the RST answers it)"
		}
		if p.Kind != "" {
			label += " " + strings.ReplaceAll(p.Kind, "_", " ")
		}
		fmt.Fprintf(&b, "    %s%s%s: %s\n", from, arrow, to, mermaidText(label))
	}
	return b.String()
}

// mermaidText keeps out of a Mermaid label what its parser takes for
// syntax: ';' ends a statement, '#' starts an entity, and brackets and
// braces can be read as shapes.
func mermaidText(s string) string {
	return strings.NewReplacer(";", ",", "#", "no. ", "{", "(", "}", ")", "\n", " ").Replace(Printable(s))
}
