package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// examples holds each command's example lines, by command path. Every
// command has one (TestHelpEveryCommand); they show in its help.
var examples = map[string]string{
	"":                      "fedrs demo\nfedrs check -c /etc/fedrs/fedrs.toml\nfedrs lg summary\nfedrs help lg routes",
	"run":                   "fedrs run -c /etc/fedrs/fedrs.toml --log-level debug",
	"check":                 "fedrs check -c /etc/fedrs/fedrs.toml\nfedrs check -c /etc/fedrs/fedrs.toml.new --diff",
	"demo":                  "fedrs demo --once\nfedrs demo    # keeps running; prints the fedrs lg command that reaches it",
	"lg":                    "fedrs lg summary\nfedrs lg routes nhs-riverside --filtered",
	"lg summary":            "fedrs lg summary\nfedrs lg summary --socket /run/fedrs/fedrs.sock --json",
	"lg neighbors":          "fedrs lg neighbors\nfedrs lg neighbors --json",
	"lg routes":             "fedrs lg routes nhs-riverside --filtered\nfedrs lg routes council-east --exported --family ipv6",
	"lg lookup":             "fedrs lg lookup 10.24.0.0/16\nfedrs lg lookup 10.24.3.7\nfedrs lg lookup 10.24.0.0/16 --mode more-specifics",
	"lg route":              "fedrs lg route nhs-riverside 10.24.0.0/16",
	"lg explain":            "fedrs lg explain nhs-coastal 10.40.7.0/24\nfedrs lg explain nhs-riverside 10.24.0.0/16 --to council-east",
	"reload":                "fedrs reload\nfedrs reload -c /etc/fedrs/fedrs.toml --json",
	"restart":               "fedrs restart --graceful && systemctl start fedrs",
	"member":                "fedrs member shutdown nhs-coastal -m \"fibre works until 14:00\"\nfedrs member enable nhs-coastal",
	"member shutdown":       "fedrs member shutdown nhs-coastal -m \"fibre works until 14:00\"",
	"member enable":         "fedrs member enable nhs-coastal",
	"member clear":          "fedrs member clear nhs-coastal --in\nfedrs member clear nhs-coastal --out",
	"maintenance":           "fedrs maintenance start -m \"route server upgrade\" --wait 10m\nfedrs maintenance status\nfedrs maintenance stop",
	"maintenance start":     "fedrs maintenance start -m \"route server upgrade\" --wait 10m",
	"maintenance status":    "fedrs maintenance status\nfedrs maintenance status --json",
	"maintenance stop":      "fedrs maintenance stop",
	"rpki":                  "fedrs rpki status\nfedrs rpki lookup 10.40.0.0/16 4200002001",
	"rpki status":           "fedrs rpki status\nfedrs rpki status --offline -c /etc/fedrs/fedrs.toml.new",
	"rpki lookup":           "fedrs rpki lookup 10.40.0.0/16 4200002001",
	"rpki aspa":             "fedrs rpki aspa 4200001003 64500 64501",
	"registry":              "fedrs registry check\nfedrs registry export-slurm -o /var/lib/fedrs/registry.slurm.json",
	"registry check":        "fedrs registry check\nfedrs registry check --json",
	"registry export-slurm": "fedrs registry export-slurm -o /var/lib/fedrs/registry.slurm.json",
	"history":               "fedrs history prefix 10.24.0.0/16 --since -2h\nfedrs history at \"2026-11-25 08:00\" --exported-to council-east",
	"history prefix":        "fedrs history prefix 10.24.0.0/16 --since -2h\nfedrs history prefix 10.24.3.7 --covering --json",
	"history member":        "fedrs history member nhs-coastal --since -1d",
	"history at":            "fedrs history at \"2026-11-25 08:00\"\nfedrs history at -30m --exported-to council-east",
	"history filtered":      "fedrs history filtered --since -1d --reason next_hop",
	"history sessions":      "fedrs history sessions --member nhs-coastal --since -7d",
	"mrt":                   "fedrs mrt dump -o /var/lib/fedrs/rib.mrt",
	"mrt dump":              "fedrs mrt dump -o /var/lib/fedrs/rib.mrt\nfedrs mrt dump -o - | bgpdump -m -",
	"lab":                   "fedrs lab test lab/scenarios/federation.toml\nfedrs lab up lab/topologies/example.toml",
	"lab up":                "fedrs lab up lab/topologies/example.toml",
	"lab status":            "fedrs lab status\nfedrs lab status example --json",
	"lab exec":              "fedrs lab exec example nhs-riverside -- birdc show route",
	"lab routes":            "fedrs lab routes example council-east\nfedrs lab routes example rs --json",
	"lab down":              "fedrs lab down example\nfedrs lab down",
	"lab test":              "fedrs lab test lab/scenarios/federation.toml\nfedrs lab test lab/scenarios/federation.toml --keep-on-failure",
	"lab clab":              "fedrs lab clab lab/topologies/example.toml -o clab-example",
	"lab bench":             "fedrs lab bench --sizes 10x1000 --contenders fedrs,bird",
	"version":               "fedrs version\nfedrs --version",
	"help":                  "fedrs help\nfedrs help lg routes",
	"man":                   "fedrs man -o /tmp/man && man -l /tmp/man/fedrs.1",
	"completion":            "fedrs completion bash > /etc/bash_completion.d/fedrs",
}

// decorate completes the command tree: every command's help shows its
// example and, where it reads a configuration or talks to the route
// server, how it finds them; a command with subcommands answers an unknown
// one by name with the nearest; a bad flag is a usage error naming itself
// and the nearest flag (exit status 2), without a page of help.
func decorate(app *cli.App) {
	app.CustomAppHelpTemplate = strings.Replace(cli.AppHelpTemplate, "\nCOMMANDS:", "\nEXAMPLES:\n"+indent(examples[""])+"\n\nCOMMANDS:", 1) +
		"\nCONFIGURATION:\n" + indent(configRule+"\n"+socketRule) + "\n\nRun \"fedrs help COMMAND\" (or fedrs COMMAND --help) for the details of a command.\n"
	app.OnUsageError = usageError
	app.HideHelpCommand = true
	var walk func(path string, cs []*cli.Command)
	walk = func(path string, cs []*cli.Command) {
		for _, c := range cs {
			p := strings.TrimSpace(path + " " + c.Name)
			c.HelpName = "fedrs " + p
			if path == "" {
				c.HelpName = c.Name // the app prefixes its name
			}
			c.HideHelpCommand = true
			c.OnUsageError = usageError
			c.Flags = freshFlags(c.Flags)
			c.CustomHelpTemplate = helpTemplate(p, c)
			if len(c.Subcommands) > 0 && c.Action == nil {
				c.Action = parentAction
			}
			if len(c.Subcommands) == 0 && c.Action != nil && !c.SkipFlagParsing && strings.TrimSpace(c.ArgsUsage) == "" {
				c.Action = noArguments(p, c.Action)
			}
			walk(p, c.Subcommands)
		}
	}
	walk("", app.Commands)
}

// freshFlags copies the flags that are shared between commands (package
// variables such as configFlag): urfave/cli keeps state in a flag (the
// value read from $FEDRS_CONFIG becomes its default for the next run), so
// each app gets its own.
func freshFlags(fs []cli.Flag) []cli.Flag {
	out := make([]cli.Flag, len(fs))
	for i, f := range fs {
		switch x := f.(type) {
		case *cli.StringFlag:
			c := *x
			out[i] = &c
		case *cli.BoolFlag:
			c := *x
			out[i] = &c
		default:
			out[i] = f
		}
	}
	return out
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "   " + strings.ReplaceAll(s, "\n", "\n   ")
}

// helpTemplate is urfave/cli's help template for c with its example and
// the configuration rule.
func helpTemplate(path string, c *cli.Command) string {
	base := cli.CommandHelpTemplate
	if len(c.Subcommands) > 0 {
		base = cli.SubcommandHelpTemplate
	}
	var extra strings.Builder
	if ex := examples[path]; ex != "" {
		fmt.Fprintf(&extra, "\nEXAMPLE:\n%s\n", indent(ex))
	}
	var rules []string
	if hasFlag(c, "config") {
		rules = append(rules, configRule)
	}
	if hasFlag(c, "socket") {
		rules = append(rules, socketRule)
	}
	if len(rules) > 0 {
		fmt.Fprintf(&extra, "\nCONFIGURATION:\n%s\n", indent(strings.Join(rules, "\n")))
	}
	// Escape text/template's delimiters in the literal text.
	return base + strings.NewReplacer("{{", `{{"{{"}}`).Replace(extra.String())
}

func hasFlag(c *cli.Command, name string) bool {
	return slices.ContainsFunc(c.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), name) })
}

// commandNames lists the names (and aliases) of cs.
func commandNames(cs []*cli.Command) []string {
	var out []string
	for _, c := range cs {
		if !c.Hidden {
			out = append(out, c.Names()...)
		}
	}
	return out
}

// unknownCommand is the usage error for an unknown subcommand name of
// parent (path "" is fedrs itself).
func unknownCommand(path, name string, cs []*cli.Command) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if path != "" {
		msg = path + ": " + msg
	}
	if s := nearest(name, commandNames(cs)); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		var names []string
		for _, c := range cs {
			if !c.Hidden {
				names = append(names, c.Name)
			}
		}
		msg += "; the commands are " + strings.Join(names, ", ")
	}
	return &exitError{2, errors.New(msg)}
}

// noArguments guards a command that takes no arguments: one given is a
// usage error naming it (not silently ignored).
func noArguments(path string, action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() > 0 {
			return &exitError{2, fmt.Errorf("%s: unexpected argument %q; it takes options only (see fedrs %s --help)", path, c.Args().First(), path)}
		}
		return action(c)
	}
}

// parentAction runs for a command with subcommands when no subcommand
// was named: its help, or the unknown name with the nearest.
func parentAction(c *cli.Context) error {
	if c.Args().Present() {
		return unknownCommand(strings.TrimPrefix(c.Command.HelpName, c.App.Name+" "), c.Args().First(), c.Command.Subcommands)
	}
	return cli.ShowSubcommandHelp(c)
}

// rootAction runs for "fedrs" without a command: --version, the help, or
// the unknown command with the nearest.
func rootAction(c *cli.Context) error {
	if c.Bool("version") {
		return printVersion(c)
	}
	if c.Args().Present() {
		return unknownCommand("", c.Args().First(), c.App.Commands)
	}
	return cli.ShowAppHelp(c)
}

// usageError turns urfave/cli's flag errors ("flag provided but not
// defined: -bogus") into one line naming the command, the flag and the
// nearest flag; exit status 2.
func usageError(c *cli.Context, err error, _ bool) error {
	where := ""
	if c.Command != nil && c.Command.HelpName != c.App.Name {
		where = strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
	}
	flags := c.App.Flags
	if where != "" {
		flags = c.Command.Flags
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		msg = fmt.Sprintf("unknown flag %s", dashed(name))
		if s := nearest(name, names); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", dashed(s))
		}
	} else {
		// "invalid value "x" for flag -limit: parse error" and the like.
		for _, f := range flags {
			for _, n := range f.Names() {
				msg = strings.Replace(msg, "flag -"+n+":", "flag "+dashed(n)+":", 1)
			}
		}
	}
	if where == "" {
		return &exitError{2, fmt.Errorf("%s (see fedrs --help)", msg)}
	}
	return &exitError{2, fmt.Errorf("%s: %s (see fedrs %s --help)", where, msg, where)}
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// helpCommand is "fedrs help [COMMAND...]".
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the commands, or the help of one",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		// "fedrs help --help" is this command's own help.
		SkipFlagParsing: true,
		HideHelp:        true,
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return cli.ShowAppHelp(c)
			}
			if a := c.Args().First(); c.NArg() == 1 && (a == "--help" || a == "-h") {
				cli.HelpPrinter(c.App.Writer, c.Command.CustomHelpTemplate, c.Command)
				return nil
			}
			cs := c.App.Commands
			var path []string
			for _, name := range c.Args().Slice() {
				var next *cli.Command
				for _, x := range cs {
					if x.HasName(name) {
						next = x
					}
				}
				if next == nil {
					return unknownCommand(strings.Join(path, " "), name, cs)
				}
				cs = next.Subcommands
				path = append(path, next.Name)
			}
			// As "fedrs COMMAND --help", which sets the command up first.
			return c.App.RunContext(c.Context, append(append([]string{c.App.Name}, path...), "--help"))
		},
	}
}
