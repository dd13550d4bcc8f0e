package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/urfave/cli/v2"
)

// historyCommand is `fedrs history`: questions to the audit history,
// answered from the database file (also while the route server runs).
func historyCommand() *cli.Command {
	common := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "/etc/fedrs/fedrs.toml", EnvVars: []string{"FEDRS_CONFIG"},
				Usage: "configuration `FILE` whose [server] history names the database"},
			&cli.StringFlag{Name: "db", Usage: "the history database `PATH` (instead of -c)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.BoolFlag{Name: "csv", Usage: "print CSV"},
		}, extra...)
	}
	since := &cli.StringFlag{Name: "since", Usage: "from `TIME` (RFC 3339, \"2026-11-25 08:00\", or relative \"-2h\")"}
	until := &cli.StringFlag{Name: "until", Usage: "until `TIME`"}
	member := &cli.StringFlag{Name: "member", Usage: "only the routes of member `NAME`"}
	sub := func(name, usage, args, desc string, flags []cli.Flag, run func(h *historyRun) error) *cli.Command {
		return &cli.Command{
			Name: name, Usage: usage, ArgsUsage: args, Description: desc, Flags: flags,
			// Flags may follow the arguments (fedrs history prefix 10.1.0.0/16 --covering),
			// and relative times start with "-": parsed here.
			SkipFlagParsing: true,
			Action: func(c *cli.Context) error {
				h, err := newHistoryRun(c, flags)
				if err != nil || h == nil {
					return err
				}
				defer h.close()
				return run(h)
			},
		}
	}
	return &cli.Command{
		Name:  "history",
		Usage: "the audit history: who announced what, when, what the route server did with it, who could reach it",
		Description: "Reads the history database (SQLite, [server] history in the configuration) directly; works\n" +
			"while the route server runs. Times: RFC 3339 (\"2026-11-25T08:00:00Z\"), local \"2026-11-25 08:00\",\n" +
			"or relative to now (\"-2h\", \"-3d\", \"now\"). Output: a table, --json or --csv.",
		Subcommands: []*cli.Command{
			sub("prefix", "the history of a prefix", "PREFIX",
				"Every version of every route for PREFIX (a bare address means the host prefix): who announced\n"+
					"it, with which attributes, the verdict and reasons, from when to when, and to whom it was exported.",
				common(since, until, member,
					&cli.BoolFlag{Name: "covering", Usage: "also the less specific prefixes that contain it"},
					&cli.BoolFlag{Name: "more-specifics", Usage: "also the more specific prefixes inside it"}),
				func(h *historyRun) error {
					a, err := h.arg(0, "PREFIX", "10.1.0.0/16")
					if err != nil {
						return err
					}
					p, err := history.ParsePrefix(a)
					if err != nil {
						return &exitError{2, err}
					}
					q, err := h.query()
					if err != nil {
						return err
					}
					q.Prefix, q.Covering, q.MoreSpecifics = p, h.bool("covering"), h.bool("more-specifics")
					return h.versions(q)
				}),
			sub("member", "what a member announced and what happened to it", "NAME", "",
				common(since, until),
				func(h *historyRun) error {
					q, err := h.query()
					if err != nil {
						return err
					}
					if q.Member, err = h.arg(0, "NAME", "nhs-riverside"); err != nil {
						return err
					}
					return h.versions(q)
				}),
			sub("at", "the RIB as it stood at a time, or what a member could receive then", "TIME",
				"Without options: every route held at TIME (accepted and filtered), with whom it was exported to.\n"+
					"--member: only that member's routes. --exported-to: what that member could receive at TIME\n"+
					"(its session was up and it was in the route's export set).",
				common(member, &cli.StringFlag{Name: "exported-to", Usage: "what member `NAME` could receive"}),
				func(h *historyRun) error {
					a, err := h.arg(0, "TIME", `"2026-11-25 08:00"`)
					if err != nil {
						return err
					}
					t, err := h.time(a, "TIME")
					if err != nil {
						return err
					}
					return h.at(t)
				}),
			sub("filtered", "routes filtered at the route server, and why", "",
				"Every filtered route version; --reason keeps one reason, by name (next_hop) or code (8, 1101:8).",
				common(since, until, member, &cli.StringFlag{Name: "reason", Usage: "reason `R`: a name or a code"}),
				func(h *historyRun) error {
					q, err := h.query()
					if err != nil {
						return err
					}
					q.FilteredOnly, q.Reason = true, h.str("reason")
					if q.Reason != "" {
						if _, _, err := history.ParseReason(q.Reason); err != nil {
							return &exitError{2, err}
						}
					}
					return h.versions(q)
				}),
			sub("sessions", "BGP sessions: when up, negotiated, when and why down (NOTIFICATIONs both ways)", "",
				"", common(since, until, &cli.StringFlag{Name: "member", Usage: "only member `NAME`"}),
				func(h *historyRun) error {
					s, u, err := h.window()
					if err != nil {
						return err
					}
					ss, err := h.r.Sessions(h.ctx, h.str("member"), s, u)
					if err != nil {
						return err
					}
					return h.output(map[string]any{"sessions": nonNil(ss)}, history.SessionsTable(ss), nil)
				}),
		},
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// historyRun is one invocation: parsed arguments and the open database.
type historyRun struct {
	ctx   context.Context
	out   io.Writer
	errw  io.Writer
	pos   []string
	vals  map[string]string
	bools map[string]bool
	r     *history.Reader
	now   time.Time
}

// newHistoryRun parses c's arguments against flags (interspersed with the
// positional ones) and opens the database. It returns nil, nil when help
// was shown.
func newHistoryRun(c *cli.Context, flags []cli.Flag) (*historyRun, error) {
	h := &historyRun{ctx: c.Context, out: c.App.Writer, errw: c.App.ErrWriter, vals: map[string]string{}, bools: map[string]bool{}, now: time.Now()}
	if h.errw == nil {
		h.errw = io.Discard
	}
	byName := map[string]cli.Flag{}
	for _, f := range flags {
		for _, n := range f.Names() {
			byName[n] = f
		}
		if sf, ok := f.(*cli.StringFlag); ok {
			h.vals[sf.Name] = sf.Value
		}
	}
	if env := os.Getenv("FEDRS_CONFIG"); env != "" {
		h.vals["config"] = env
	}
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			h.pos = append(h.pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9') {
			h.pos = append(h.pos, a) // includes relative times like -2h
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			parent := c
			if l := c.Lineage(); len(l) > 1 {
				parent = l[1]
			}
			return nil, cli.ShowCommandHelp(parent, c.Command.Name)
		}
		f, ok := byName[name]
		if !ok {
			return nil, &exitError{2, fmt.Errorf("unknown option %s; see fedrs history %s --help", a, c.Command.Name)}
		}
		canonical := f.Names()[0]
		if _, isBool := f.(*cli.BoolFlag); isBool {
			h.bools[canonical] = !hasVal || val == "true" || val == "1"
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, &exitError{2, fmt.Errorf("option %s needs a value", a)}
			}
			i++
			val = args[i]
		}
		h.vals[canonical] = val
	}
	if h.bools["json"] && h.bools["csv"] {
		return nil, &exitError{2, errors.New("choose one of --json and --csv")}
	}
	path := h.vals["db"]
	if path == "" {
		cfg, err := conf.Load(h.vals["config"])
		if err != nil {
			return nil, &exitError{2, fmt.Errorf("finding the history database: %w (or give it with --db PATH)", err)}
		}
		if cfg.Server.History == "" {
			return nil, &exitError{2, fmt.Errorf("%s: [server] history is not set, so no history is recorded; give a database with --db PATH", cfg.File)}
		}
		path = cfg.Server.History
	}
	r, err := history.OpenReader(path)
	if err != nil {
		return nil, &exitError{1, err}
	}
	h.r = r
	return h, nil
}

func (h *historyRun) close() { h.r.Close() }

func (h *historyRun) str(name string) string { return h.vals[name] }
func (h *historyRun) bool(name string) bool  { return h.bools[name] }

// arg returns positional argument i.
func (h *historyRun) arg(i int, what, example string) (string, error) {
	if i < len(h.pos) && h.pos[i] != "" {
		if len(h.pos) > i+1 {
			return "", &exitError{2, fmt.Errorf("unexpected argument %q after %s", h.pos[i+1], what)}
		}
		return h.pos[i], nil
	}
	return "", &exitError{2, fmt.Errorf("missing %s, e.g. %s", what, example)}
}

func (h *historyRun) time(s, what string) (time.Time, error) {
	t, err := history.ParseTime(s, h.now, time.Local)
	if err != nil {
		return time.Time{}, &exitError{2, fmt.Errorf("%s: %w", what, err)}
	}
	return t, nil
}

func (h *historyRun) window() (since, until time.Time, err error) {
	if s := h.str("since"); s != "" {
		if since, err = h.time(s, "--since"); err != nil {
			return
		}
	}
	if s := h.str("until"); s != "" {
		if until, err = h.time(s, "--until"); err != nil {
			return
		}
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		err = &exitError{2, fmt.Errorf("--until %s is not after --since %s", h.str("until"), h.str("since"))}
	}
	return
}

func (h *historyRun) query() (history.Query, error) {
	s, u, err := h.window()
	return history.Query{Since: s, Until: u, Member: h.str("member")}, err
}

func (h *historyRun) versions(q history.Query) error {
	vs, err := h.r.Versions(h.ctx, q)
	if err != nil {
		return err
	}
	ns, err := h.r.Notices(h.ctx, q.Since, q.Until)
	if err != nil {
		return err
	}
	return h.output(map[string]any{"versions": nonNil(vs), "notices": nonNil(ns)}, history.VersionsTable(vs), ns)
}

func (h *historyRun) at(t time.Time) error {
	ns, err := h.r.Notices(h.ctx, t, t.Add(time.Microsecond))
	if err != nil {
		return err
	}
	if to := h.str("exported-to"); to != "" {
		vs, up, err := h.r.ExportedTo(h.ctx, t, to)
		if err != nil {
			return err
		}
		if !up {
			ns = append(ns, history.Notice{From: t, To: t, Text: fmt.Sprintf("member %s had no session up at this time: nothing was exported to it", to)})
		}
		return h.output(map[string]any{"at": t, "exported_to": to, "session_up": up, "routes": nonNil(vs), "notices": nonNil(ns)},
			history.ExportedTable(vs), ns)
	}
	vs, err := h.r.At(h.ctx, t, h.str("member"))
	if err != nil {
		return err
	}
	return h.output(map[string]any{"at": t, "routes": nonNil(vs), "notices": nonNil(ns)}, history.RIBTable(vs), ns)
}

func (h *historyRun) output(obj any, t history.Table, ns []history.Notice) error {
	switch {
	case h.bool("json"):
		enc := json.NewEncoder(h.out)
		enc.SetIndent("", "  ")
		return enc.Encode(obj)
	case h.bool("csv"):
		history.NoticesText(h.errw, ns)
		return t.WriteCSV(h.out)
	}
	if len(t.Rows) == 0 {
		fmt.Fprintln(h.out, "(nothing recorded)")
	} else if err := t.WriteText(h.out); err != nil {
		return err
	}
	history.NoticesText(h.out, ns)
	return nil
}
