package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs lets flags come after file names, as users of most Go and
// GNU tools expect (rstwhy analyze a.pcap -f json): urfave/cli, like the
// flag package, stops at the first file name. It moves the flags of
// analyze, explain or scan and their values before its file names and puts "--"
// between them; a "--" given ends the flags, and a lone "-" is a file
// name (standard input). A flag neither the program nor the command knows
// is reported as it was typed, which the flag package does not do (it
// drops a dash).
func reorderArgs(args []string) ([]string, error) {
	out := append([]string(nil), args[:min(1, len(args))]...)
	i := 1
	for ; i < len(args) && isFlag(args[i]); i++ {
		if args[i] == "--" {
			break
		}
		switch flagName(args[i]) {
		case "version", "help", "h":
		default:
			return nil, unknownFlag(args[i], "rstwhy help")
		}
		out = append(out, args[i])
	}
	if i >= len(args) {
		return out, nil
	}
	var cmd *cli.Command
	for _, c := range []*cli.Command{analyzeCommand(), explainCommand(), scanCommand()} {
		if args[i] == c.Name || slices.Contains(c.Aliases, args[i]) {
			cmd = c
		}
	}
	if cmd == nil {
		return append(out, args[i:]...), nil
	}
	help := "rstwhy help " + cmd.Name
	takesValue := map[string]bool{"help": false, "h": false}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	out = append(out, args[i])
	var files []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			files = append(files, rest[j+1:]...)
			j = len(rest)
		case !isFlag(a):
			files = append(files, a)
		default:
			name := flagName(a)
			value, known := takesValue[name]
			if !known || strings.HasPrefix(a, "---") {
				return nil, unknownFlag(a, help)
			}
			if name == "help" || name == "h" {
				// Help is all that is done: a file name after it
				// would be taken for a help topic.
				return append(out, a), nil
			}
			out = append(out, a)
			if value && !strings.Contains(a, "=") {
				if j+1 == len(rest) {
					return nil, fmt.Errorf("flag %s needs a value (see %s)", a, help)
				}
				j++
				out = append(out, rest[j])
			}
		}
	}
	return append(append(out, "--"), files...), nil
}

// isFlag: "-" alone is standard input, not a flag.
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

// flagName is "format" for --format, -format, --format=json.
func flagName(a string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
	return name
}

func unknownFlag(a, help string) error {
	typed, _, _ := strings.Cut(a, "=")
	return fmt.Errorf("unknown flag %s (see %s)", typed, help)
}
