package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/urfave/cli/v2"
)

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:  "reload",
		Usage: "apply the configuration file again, as a diff, without dropping unchanged sessions",
		Description: "Asks the running route server to re-read its configuration file (like SIGHUP) and\n" +
			"prints what changed. A configuration with errors is refused and the running one stays.\n\n" +
			"A running route server's configuration file is fixed at its start (as under a service\n" +
			"manager): reload sends the file it was given (-c, or $FEDRS_CONFIG) and the route server\n" +
			"refuses, changing nothing, when that is not the file it runs. To see what another file\n" +
			"would do, use fedrs check -c FILE --diff. With --socket alone, the route server reloads\n" +
			"its own file, and the answer names it.",
		ArgsUsage: " ",
		Flags:     []cli.Flag{socketFlag, configFlagNoDefault, jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &exitError{2, fmt.Errorf("reload: unexpected argument %q; the file is given with -c FILE", c.Args().First())}
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			var req api.ReloadRequest
			// The file meant: named (-c, $FEDRS_CONFIG), or the default
			// one when the socket was found in it.
			if file, named := configPath(c); named || c.String("socket") == "" {
				if _, err := os.Stat(file); err == nil || named {
					if req.Config, err = filepath.Abs(file); err != nil {
						return err
					}
				}
			}
			var res api.ReloadResult
			if err := cl.Post(c.Context, "/v1/reload", nil, req, &res); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, res)
			}
			fmt.Fprintf(c.App.Writer, "%s reloaded: %s\n", res.Config, res.Summary)
			return nil
		},
	}
}

func maintenanceCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{socketFlag, configFlagNoDefault}, extra...)
	}
	return &cli.Command{
		Name:  "maintenance",
		Usage: "take the route server out of service gracefully, and back",
		Description: "start tags every route with GRACEFUL_SHUTDOWN (RFC 8326), waits, then closes every session;\n" +
			"status says where it stands; stop undoes it.",
		Subcommands: []*cli.Command{{
			Name:  "start",
			Usage: "tag every route with GRACEFUL_SHUTDOWN, wait, then close every session",
			Description: "Members lower the preference of everything learned through the route server\n" +
				"(RFC 8326) and move traffic to other paths; after --wait every session that is not\n" +
				"already shut down is closed with Cease/Administrative Shutdown and the message (RFC 9003)\n" +
				"and stays down until `fedrs maintenance stop`. A second start while maintenance runs is\n" +
				"refused (stop it first to change the message or the wait).\n\n" +
				"Example: fedrs maintenance start -m \"rs1 software upgrade, back 02:30\" --wait 10m",
			Flags: flags(
				&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Value: "route server maintenance", Usage: "RFC 9003 shutdown message (≤ 255 octets)"},
				&cli.DurationFlag{Name: "wait", Value: 5 * time.Minute, Usage: "time between the GRACEFUL_SHUTDOWN tag and closing the sessions"},
				jsonFlag,
			),
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return &exitError{2, fmt.Errorf("maintenance start takes no arguments (got %q); the message goes in -m", c.Args().First())}
				}
				if c.Duration("wait") < 0 {
					return &exitError{2, fmt.Errorf("--wait %v: want 0s or more", c.Duration("wait"))}
				}
				return maintenancePost(c, "/v1/maintenance/start", map[string]string{"message": c.String("message"), "wait": c.Duration("wait").String()})
			},
		}, {
			Name:  "status",
			Usage: "phase (off, draining, closed), since when, time left, sessions affected",
			Description: "draining: every route is sent with GRACEFUL_SHUTDOWN and the sessions close when the\n" +
				"wait ends; closed: maintenance closed the sessions and keeps them down until stop.\n\n" +
				"Example: fedrs maintenance status",
			Flags: flags(jsonFlag),
			Action: func(c *cli.Context) error {
				cl, err := client(c)
				if err != nil {
					return err
				}
				var m api.Maintenance
				if err := cl.Get(c.Context, "/v1/maintenance", nil, &m); err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, m)
				}
				return maintenanceText(c.App.Writer, m)
			},
		}, {
			Name:  "stop",
			Usage: "end maintenance: remove the GRACEFUL_SHUTDOWN tag, or bring the closed sessions back",
			Description: "During the wait, the routes are sent again without the GRACEFUL_SHUTDOWN the route server\n" +
				"added (a member's own 65535:0 stays). After the wait, the sessions maintenance closed are\n" +
				"enabled again and reconnect (sessions shut down with `fedrs member shutdown` stay down).\n\n" +
				"Example: fedrs maintenance stop",
			Flags: flags(jsonFlag),
			Action: func(c *cli.Context) error {
				return maintenancePost(c, "/v1/maintenance/stop", nil)
			},
		}},
	}
}

func maintenancePost(c *cli.Context, path string, body any) error {
	cl, err := client(c)
	if err != nil {
		return err
	}
	var m api.Maintenance
	if err := cl.Post(c.Context, path, nil, body, &m); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, m)
	}
	fmt.Fprintln(c.App.Writer, m.Result)
	return nil
}

// maintenanceText prints `fedrs maintenance status`.
func maintenanceText(w io.Writer, m api.Maintenance) error {
	ago := func(t *time.Time) string {
		return fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04:05"), duration(int64(time.Since(*t).Seconds())))
	}
	switch m.Phase {
	case "off":
		if m.Since == nil {
			fmt.Fprintln(w, "maintenance: off")
			return nil
		}
		fmt.Fprintf(w, "maintenance: off since %s; the last one started %s with %q\n", ago(m.Since), ago(m.Started), m.Message)
		return nil
	case "draining":
		fmt.Fprintf(w, "maintenance: draining since %s: every route is sent with GRACEFUL_SHUTDOWN\n", ago(m.Since))
		fmt.Fprintf(w, "sessions close at %s (in %s) with %q\n", m.ClosesAt.Local().Format("2006-01-02 15:04:05"),
			duration(int64(m.SecondsLeft)), m.Message)
		fmt.Fprintf(w, "%d sessions receive GRACEFUL_SHUTDOWN", len(m.Sessions))
	case "closed":
		fmt.Fprintf(w, "maintenance: sessions closed since %s with %q (started %s)\n", ago(m.Since), m.Message, ago(m.Started))
		fmt.Fprintf(w, "%d sessions closed by maintenance (fedrs maintenance stop brings them back)", len(m.Sessions))
	default:
		fmt.Fprintf(w, "maintenance: %s", m.Phase)
	}
	if len(m.Sessions) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(m.Sessions, ", "))
	}
	fmt.Fprintln(w)
	return nil
}

// memberClear is `fedrs member clear`: one line per session.
func memberClear(c *cli.Context, cl *api.Client, path string) error {
	if c.Bool("in") && c.Bool("out") {
		return &exitError{2, errors.New("choose one of --in or --out")}
	}
	dir := "in"
	if c.Bool("out") {
		dir = "out"
	}
	var res api.ClearResult
	if err := cl.Post(c.Context, path, url.Values{"direction": {dir}}, nil, &res); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%s: %s\n", res.Member, res.Result)
	for _, s := range res.Sessions {
		line := fmt.Sprintf("  %s (%s): ", s.Neighbor, s.State)
		if len(s.Families) > 0 {
			what := "ROUTE-REFRESH sent for "
			if dir == "out" {
				what = "resent "
			}
			line += what + strings.Join(s.Families, ", ")
		} else {
			line += "nothing done"
		}
		if len(s.Notes) > 0 {
			line += "; " + strings.Join(s.Notes, "; ")
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

func memberCommand() *cli.Command {
	action := func(verb string) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &exitError{2, fmt.Errorf("usage: fedrs member %s MEMBER", verb)}
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			path := "/v1/members/" + url.PathEscape(c.Args().First()) + "/" + verb
			var body any
			q := url.Values{}
			switch verb {
			case "shutdown":
				body = map[string]string{"message": c.String("message")}
			case "clear":
				return memberClear(c, cl, path)
			}
			var res map[string]string
			if err := cl.Post(c.Context, path, q, body, &res); err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, c.Args().First()+": "+res["result"])
			return nil
		}
	}
	return &cli.Command{
		Name:  "member",
		Usage: "administer a member's sessions",
		Subcommands: []*cli.Command{
			{Name: "shutdown", Usage: "close the member's sessions with an RFC 9003 message and keep them down", ArgsUsage: "MEMBER",
				Flags:  []cli.Flag{socketFlag, configFlagNoDefault, &cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "shutdown message (≤ 255 octets)"}},
				Action: action("shutdown")},
			{Name: "enable", Usage: "lift a shutdown or a maximum-prefix hold", ArgsUsage: "MEMBER",
				Flags: []cli.Flag{socketFlag, configFlagNoDefault}, Action: action("enable")},
			{Name: "clear", Usage: "soft clear: --in asks the member to resend (ROUTE-REFRESH), --out resends to it", ArgsUsage: "MEMBER",
				Description: "Works on the member's established sessions, for the address families each one\n" +
					"negotiated; no session is reset. --in (the default) sends ROUTE-REFRESH where the member's\n" +
					"router announced route refresh; --out resends the member everything it should hold.\n" +
					"Prints, per session, what was done and what was not (and why). Exit status 1 when\n" +
					"nothing could be done on any session.\n\n" +
					"Example: fedrs member clear nhs-coastal --in",
				Flags: []cli.Flag{socketFlag, configFlagNoDefault, jsonFlag, &cli.BoolFlag{Name: "in", Usage: "ask the member to resend its routes (ROUTE-REFRESH)"},
					&cli.BoolFlag{Name: "out", Usage: "resend the member everything it should hold"}},
				Action: action("clear")},
		},
	}
}
