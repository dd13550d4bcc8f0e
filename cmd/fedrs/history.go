package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/api"
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
			&cli.StringFlag{Name: "socket", Usage: "ask the running route server on its control socket `PATH` (the admin or the read-only one) instead of reading the database"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.BoolFlag{Name: "csv", Usage: "print CSV"},
		}, extra...)
	}
	since := &cli.StringFlag{Name: "since", Usage: "only what overlaps the time from `TIME` on (RFC 3339, \"2026-11-25 08:00\", or relative \"-2h\")"}
	until := &cli.StringFlag{Name: "until", Usage: "only what overlaps the time before `TIME`"}
	limit := &cli.IntFlag{Name: "limit", Usage: "at most `N` rows, the first in the listed order (a note says when more match)"}
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
				err = run(h)
				if errors.Is(err, history.ErrUnknownMember) {
					return &exitError{2, err}
				}
				return err
			},
		}
	}
	return &cli.Command{
		Name:  "history",
		Usage: "the audit history: who announced what, when, what the route server did with it, who could reach it",
		Description: "Reads the history database (SQLite, [server] history in the configuration) directly; works\n" +
			"while the route server runs. With --socket PATH it asks the running route server instead (the\n" +
			"read-only control socket is enough), with the same output. Times: RFC 3339 (\"2026-11-25T08:00:00Z\"), local \"2026-11-25 08:00\",\n" +
			"or relative to now (\"-2h\", \"-3d\", \"now\"). Output: a table, --json or --csv.",
		Subcommands: []*cli.Command{
			sub("prefix", "the history of a prefix", "PREFIX",
				"Every version of every route for PREFIX (a bare address means the host prefix): who announced\n"+
					"it, with which attributes, the verdict and reasons, from when to when, and to whom it was exported.",
				common(since, until, limit, member,
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
			sub("member", "what a member announced and what happened to it", "NAME",
				"Every version of every route the member announced (accepted and filtered), in prefix order,\n"+
					"with the verdict, from when to when, and to whom it was exported.",
				common(since, until, limit),
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
			sub("at", "the RIB as it stood at a time, or what was exported to a member then", "TIME",
				"Without options: every route held at TIME (accepted and filtered), with the members it was\n"+
					"exported to then. --member: only that member's routes. --exported-to: the routes exported to\n"+
					"that member at TIME: sent to it on an established session and not yet withdrawn or replaced.\n"+
					"A note says when TIME falls inside a session's initial transfer (the route server was still\n"+
					"sending the member its table). --since and --until do not apply: TIME is one instant.",
				common(limit, member, &cli.StringFlag{Name: "exported-to", Usage: "what was exported to member `NAME`"}),
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
				common(since, until, limit, member, &cli.StringFlag{Name: "reason", Usage: "reason `R`: a name or a code"}),
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
				"Sessions that overlap --since/--until, in time order: when up, the families the route server\n"+
					"sent and when it finished sending its table (End-of-RIB), what was negotiated (--json:\n"+
					"an object), when and why the session went down, NOTIFICATIONs both ways.",
				common(since, until, limit, &cli.StringFlag{Name: "member", Usage: "only member `NAME`"}),
				func(h *historyRun) error {
					s, u, err := h.window()
					if err != nil {
						return err
					}
					n, err := h.limit()
					if err != nil {
						return err
					}
					a, err := h.r.SessionsAnswer(h.ctx, h.str("member"), s, u, n)
					if err != nil {
						return err
					}
					return h.output(a, history.SessionsTable(a.Sessions), nil, a.Truncated)
				}),
		},
	}
}

// historyRun is one invocation: parsed arguments and the open database.
type historyRun struct {
	ctx   context.Context
	out   io.Writer
	errw  io.Writer
	pos   []string
	vals  map[string]string
	bools map[string]bool
	r     historySource
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
		if !ok && c.Command.Name == "at" && (name == "since" || name == "until") {
			return nil, &exitError{2, fmt.Errorf("%s does not apply to fedrs history at: TIME is one instant (for a time range, use history prefix, member, filtered or sessions)", a)}
		}
		if !ok {
			msg := fmt.Sprintf("unknown option %s", a)
			if s := nearest(name, slices.Collect(maps.Keys(byName))); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", dashed(s))
			}
			return nil, &exitError{2, fmt.Errorf("history %s: %s (see fedrs history %s --help)", c.Command.Name, msg, c.Command.Name)}
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
	if sock := h.vals["socket"]; sock != "" {
		if h.vals["db"] != "" {
			return nil, &exitError{2, errors.New("choose one of --db (read the file) and --socket (ask the running route server)")}
		}
		h.r = remoteHistory{api.NewClient(sock)}
		return h, nil
	}
	path := h.vals["db"]
	if path == "" {
		cfg, err := conf.Load(h.vals["config"])
		if err != nil {
			return nil, &exitError{1, fmt.Errorf("finding the history database: %w (or give it with --db PATH)", err)}
		}
		if cfg.Server.History == "" {
			return nil, &exitError{2, fmt.Errorf("%s: [server] history is not set, so no history is recorded; give a database with --db PATH", cfg.File)}
		}
		path = cfg.Path(cfg.Server.History) // relative to the configuration file, as fedrs run reads it
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
	if err != nil {
		return history.Query{}, err
	}
	n, err := h.limit()
	return history.Query{Since: s, Until: u, Member: h.str("member"), Limit: n}, err
}

// limit is --limit (0: none).
func (h *historyRun) limit() (int, error) {
	v := h.str("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, &exitError{2, fmt.Errorf("--limit %q: want a number of rows, 1 or more", v)}
	}
	return n, nil
}

func (h *historyRun) versions(q history.Query) error {
	a, err := h.r.VersionsAnswer(h.ctx, q)
	if err != nil {
		return err
	}
	return h.output(a, history.VersionsTable(a.Versions), a.Notices, a.Truncated)
}

func (h *historyRun) at(t time.Time) error {
	n, err := h.limit()
	if err != nil {
		return err
	}
	to := h.str("exported-to")
	a, err := h.r.RIBAnswer(h.ctx, t, h.str("member"), to, n)
	if err != nil {
		return err
	}
	a.At = t // as given, whoever answered
	if to != "" {
		return h.output(a, history.ExportedTable(a.Routes), a.Notices, a.Truncated)
	}
	return h.output(a, history.RIBTable(a.Routes), a.Notices, a.Truncated)
}

const truncatedNote = "note: only the first %d rows are shown; more match (raise --limit, or narrow with --since/--until or --member)\n"

func (h *historyRun) output(obj any, t history.Table, ns []history.Notice, truncated bool) error {
	switch {
	case h.bool("json"):
		enc := json.NewEncoder(h.out)
		enc.SetIndent("", "  ")
		return enc.Encode(obj)
	case h.bool("csv"):
		history.NoticesText(h.errw, ns)
		if truncated {
			fmt.Fprintf(h.errw, truncatedNote, len(t.Rows))
		}
		return t.WriteCSV(h.out)
	}
	if len(t.Rows) == 0 {
		fmt.Fprintln(h.out, "(nothing recorded)")
	} else if err := t.WriteText(h.out); err != nil {
		return err
	}
	history.NoticesText(h.out, ns)
	if truncated {
		fmt.Fprintf(h.out, truncatedNote, len(t.Rows))
	}
	return nil
}
