package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/urfave/cli/v2"
)

// The restart marker: a planned restart (fedrs restart --graceful, or
// SIGUSR2) writes it just before fedrs closes its sessions without a
// NOTIFICATION and exits; the next start that finds it, younger than the
// restart time, is the restart's second half (routeserver.Options
// Restarted). It lives beside the history database (a persistent state
// directory, /var/lib/fedrs under the unit), or else beside the control
// socket. It holds the time it was written (RFC 3339), for people.

// restartMarker is the marker's path for cfg ("" when the configuration
// has neither a history database nor a control socket).
func restartMarker(cfg *conf.Config) string {
	if cfg.Server.History != "" {
		return cfg.Path(cfg.Server.History) + ".restart"
	}
	if s := cfg.ControlPath(); s != "" {
		return s + ".restart"
	}
	return ""
}

// writeRestartMarker writes the marker (mode 0600) with the time now.
func writeRestartMarker(path string, now time.Time) error {
	if path == "" {
		return errors.New("no place for the restart marker: set [server] history or [server] control")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(now.UTC().Format(time.RFC3339Nano)+"\n"), 0o600); err != nil {
		return fmt.Errorf("restart marker %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restart marker %s: %w", path, err)
	}
	return nil
}

// takeRestartMarker reads and removes the marker: true when it was
// written less than restartTime ago (a planned restart), false when it
// is absent, stale (the restart took longer than members keep the
// routes: a cold start) or unreadable.
func takeRestartMarker(path string, restartTime time.Duration, now time.Time, log *slog.Logger) bool {
	if path == "" {
		return false
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	os.Remove(path)
	if err != nil {
		log.Warn("graceful restart: restart marker unreadable; starting cold", "marker", path, "err", err)
		return false
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		log.Warn("graceful restart: restart marker malformed; starting cold", "marker", path, "content", strconv.Quote(string(b)))
		return false
	}
	if age := now.Sub(at); age < 0 || age >= restartTime {
		log.Warn("graceful restart: restart marker older than graceful_restart_time; members have dropped the routes, starting cold",
			"marker", path, "written", at, "age", age.Round(time.Millisecond), "restart_time", restartTime)
		return false
	}
	log.Info("graceful restart: restarting after a planned restart: Restart State and Forwarding State bits set, routes sent after the members' End-of-RIB",
		"marker", path, "down_for", now.Sub(at).Round(time.Millisecond))
	return true
}

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:  "restart",
		Usage: "restart the route server without an outage (graceful restart, RFC 4724)",
		Description: "With --graceful, asks the running route server (over its control socket) for a planned\n" +
			"restart: it writes its restart marker, closes every session WITHOUT a NOTIFICATION, so that\n" +
			"members that negotiated graceful restart keep its routes as stale for [server]\n" +
			"graceful_restart_time, and exits with status 0. The command returns once it has exited.\n" +
			"Start it again within the restart time (the service manager does: see the README,\n" +
			"\"Restart without an outage\"): it announces the Restart State bit, collects the members'\n" +
			"routes and End-of-RIB, then sends its routes and End-of-RIB; the members replace their\n" +
			"stale routes and nothing flaps. SIGUSR2 to fedrs run does the same as this command.\n" +
			"A plain stop (SIGTERM, systemctl stop) still closes with Cease and members drop the routes.",
		ArgsUsage: " ",
		Flags: []cli.Flag{socketFlag, configFlagNoDefault, jsonFlag,
			&cli.BoolFlag{Name: "graceful", Usage: "required: a planned restart, the members keep the routes"},
			&cli.DurationFlag{Name: "timeout", Value: time.Minute, Usage: "wait at most this long for the route server to exit"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &exitError{2, fmt.Errorf("restart: unexpected argument %q", c.Args().First())}
			}
			if !c.Bool("graceful") {
				return &exitError{2, errors.New("restart: only --graceful is supported (fedrs restart --graceful); to stop the route server, stop its service (members then drop its routes)")}
			}
			sock, err := socketPath(c)
			if err != nil {
				return err
			}
			cl := api.NewClient(sock)
			var res api.RestartResult
			if err := cl.Post(c.Context, "/v1/restart", nil, nil, &res); err != nil {
				return err
			}
			// Wait for the process to let go of its socket: the sessions
			// are closed and it is exiting, so whatever starts it again
			// does not find it running.
			deadline := time.Now().Add(c.Duration("timeout"))
			for {
				nc, err := net.DialTimeout("unix", sock, time.Second)
				if err != nil {
					break
				}
				nc.Close()
				if time.Now().After(deadline) {
					return &exitError{1, fmt.Errorf("restart: the route server still answers on %s after %s", sock, c.Duration("timeout"))}
				}
				time.Sleep(50 * time.Millisecond)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, res)
			}
			fmt.Fprintf(c.App.Writer, "route server stopped for a graceful restart: members keep its routes for %ds; start it again now (marker %s)\n",
				res.RestartTime, res.Marker)
			return nil
		},
	}
}
