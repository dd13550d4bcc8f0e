package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/bmp"
	"github.com/fedrs/fedrs/routeserver/demo"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/fedrs/fedrs/rpki"
	"github.com/urfave/cli/v2"
)

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "journal":
		return slog.New(newJournalHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text, json or journal", format)
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the route server in the foreground",
		Description: "Runs the route server with structured logs on stderr. SIGTERM and SIGINT close every\n" +
			"session with Cease/Administrative Shutdown and an RFC 9003 message, then exit.\n\n" +
			"Under systemd (Type=notify, packaging/fedrs.service) it reports readiness, the sessions\n" +
			"established, reloads and watchdog pings over $NOTIFY_SOCKET, and logs to the journal\n" +
			"with priorities and without times. Started as root with [server] user set, it changes\n" +
			"to that user once its listeners are bound and its files open.",
		Flags: []cli.Flag{
			configFlag,
			&cli.StringFlag{Name: "log-level", Usage: "override [server] log_level: debug, info, warn, error"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text, json, or journal (no time, <N> priority prefixes; the default when stderr is the journal)"},
			&cli.StringFlag{Name: "cpuprofile", Hidden: true, EnvVars: []string{"FEDRS_CPUPROFILE"},
				Usage: "write a CPU profile (pprof) to `FILE` until the route server is told to stop"},
			&cli.StringFlag{Name: "memprofile", Hidden: true, EnvVars: []string{"FEDRS_MEMPROFILE"},
				Usage: "write a heap profile (pprof) to `FILE` when the route server stops"},
		},
		Action: func(c *cli.Context) error {
			if p := c.String("cpuprofile"); p != "" {
				f, err := os.Create(p)
				if err != nil {
					return &exitError{2, err}
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return &exitError{2, err}
				}
				// Stopped at the stop signal, not after the shutdown (which
				// may be killed before it ends): a profile of the running
				// server.
				onStopSignal = func() { pprof.StopCPUProfile(); f.Sync() }
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
			if p := c.String("memprofile"); p != "" {
				defer func() {
					if f, err := os.Create(p); err == nil {
						pprof.WriteHeapProfile(f)
						f.Close()
					}
				}()
			}
			if c.NArg() > 0 {
				return &exitError{2, fmt.Errorf("run: unexpected argument %q; the configuration is given with -c FILE", c.Args().First())}
			}
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			// The running configuration file, as reload and the status
			// name it, whatever the working directory.
			cfg.File = cfg.AbsFile()
			level := cfg.Server.LogLevel
			if c.IsSet("log-level") {
				level = c.String("log-level")
			}
			format := c.String("log-format")
			if !c.IsSet("log-format") && underJournal() {
				format = "journal" // journald stamps the lines itself
			}
			log, err := newLogger(level, format)
			if err != nil {
				return &exitError{2, err}
			}
			return run(c.Context, cfg, log)
		},
	}
}

// onStopSignal, when set, is called when a stop signal arrives (the
// hidden --cpuprofile flag ends its profile there).
var onStopSignal func()

func run(parent context.Context, cfg *conf.Config, log *slog.Logger) error {
	// Most of the heap is pointer-free arenas the collector barely scans:
	// trade a little GC CPU for a peak RSS close to the live heap.
	debug.SetGCPercent(50)
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	// The service manager's notifications ($NOTIFY_SOCKET), and whether
	// [server] user can be changed to at all, before anything is taken.
	svc, err := newService(log)
	if err != nil {
		return err
	}
	defer svc.stopping()
	if err := checkIdentity(cfg.Server); err != nil {
		return err
	}

	owned := ownedFiles(cfg) // before claim creates the history directory

	// First of all: what only one route server may use. A second fedrs
	// with this configuration stops here, before it could disturb the
	// running one's sessions or its history.
	claimed, err := claim(cfg, log)
	if err != nil {
		return err
	}
	defer claimed.release()
	for _, d := range cfg.Deprecations() {
		log.Warn("deprecated configuration: " + d)
	}
	for _, w := range cfg.Warnings {
		log.Warn("configuration: " + w.String())
	}

	// The RPKI manager always runs, so that a reload that configures RPKI
	// data (or the registry) puts it in force; with none configured it
	// holds nothing and routes are not validated. The route server
	// re-validates on its changes and reconfigures it on reload.
	mgr := rpki.NewManagerFromConfig(cfg, rpki.Options{Logger: log})
	opts := routeserver.Options{Log: log, RPKI: mgr, Reloads: svc}
	go func() {
		if err := mgr.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("RPKI manager stopped", "err", err)
		}
	}()
	<-mgr.Ready() // files read: routes are validated from the first UPDATE
	if cfg.RPKI.Server != "" {
		rtrSrv := rpki.NewRTRServer(mgr, rpki.ServerOptions{Logger: log})
		// Bound here, before [server] user takes over and before READY=1.
		var lc net.ListenConfig
		rln, err := lc.Listen(ctx, "tcp", cfg.RPKI.Server)
		if err != nil {
			return fmt.Errorf("[rpki] server: %w", err)
		}
		go func() {
			if err := rtrSrv.Serve(ctx, rln); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("RTR server stopped", "listen", cfg.RPKI.Server, "err", err)
				cancel()
			}
		}()
	}
	var streamer *bmp.Streamer
	if len(cfg.BMP) > 0 {
		streamer = bmp.New(cfg, bmp.Options{Log: log,
			SysDescr: fmt.Sprintf("%s route server AS%d router-id %s", versionString(), cfg.Server.ASN, cfg.Server.RouterID)})
		opts.Monitors = append(opts.Monitors, streamer)
	}
	var rec *history.Recorder
	if cfg.Server.History != "" {
		hopts := history.OptionsFromConfig(cfg)
		hopts.Version, hopts.Log = versionString(), log.With("component", "history")
		path := cfg.Path(cfg.Server.History)
		var err error
		if rec, err = history.Open(path, hopts); err != nil {
			return fmt.Errorf("[server] history: %w", err)
		}
		// history.Open logs what it recovered after an unclean stop.
		// Closed after the route server has stopped, so that the session
		// downs of the shutdown are recorded.
		defer func() {
			if err := rec.Close(); err != nil {
				log.Error("history: close", "db", path, "err", err)
			}
		}()
		opts.History = rec
	}
	srv, err := routeserver.New(cfg, opts)
	if err != nil {
		return err
	}
	apiOpts := api.Options{Version: versionString(), RPKI: mgr, Log: log}
	if rec != nil {
		apiOpts.History = history.Status{Recorder: rec}
	}
	if streamer != nil {
		// BMP outlives the sessions: the Peer Downs of the shutdown and
		// Termination go out after the route server has stopped.
		streamer.Attach(srv)
		apiOpts.BMP = streamer
		bctx, bcancel := context.WithCancel(context.Background())
		bdone := make(chan struct{})
		go func() { defer close(bdone); streamer.Run(bctx) }()
		defer func() { bcancel(); <-bdone }()
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sig)
	if err := srv.Listen(ctx); err != nil {
		return err
	}
	hc := cfg.HTTPListener()
	var hln net.Listener
	if hc.Listen != "" {
		if hln, err = api.ListenHTTP(ctx, hc); err != nil {
			return err
		}
	}
	// Everything bound and open: [server] user may take over.
	if err := dropPrivileges(cfg.Server, owned, log); err != nil {
		// No session has started (Serve has not run): the listeners
		// close with the process.
		if hln != nil {
			hln.Close()
		}
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	if cfg.MRT.DumpDir != "" {
		dumps := mrt.NewPeriodic(srv, cfg.Path(cfg.MRT.DumpDir), cfg.MRT.Interval.Duration, cfg.MRT.Keep, log)
		apiOpts.MRT = dumps
		go dumps.Run(ctx)
	}
	ctl := api.New(srv, apiOpts)
	apiDone := make(chan error, 1)
	go func() { apiDone <- ctl.ServeListeners(ctx, claimed.control, hln, hc) }()
	svc.ready(ctx, srv)
	for {
		select {
		case err := <-done:
			return err
		case err := <-apiDone:
			if err != nil {
				log.Error("control API", "err", err)
				svc.stopping()
				srv.Shutdown("route server stopping: control API failed")
				cancel()
				<-done
				return err
			}
		case s := <-sig:
			if s == syscall.SIGHUP {
				srv.ReloadFile() // logged (and notified) by svc
				continue
			}
			svc.stopping()
			log.Info("signal received: closing sessions", "signal", s.String())
			if onStopSignal != nil {
				onStopSignal()
			}
			srv.Shutdown(fmt.Sprintf("route server shutting down (%s)", strings.ToUpper(s.String())))
			cancel()
			return <-done
		}
	}
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "validate a configuration file",
		ArgsUsage: " ",
		Description: "Reports every error with file, line and field, and what a valid value looks like.\n" +
			"Exit status 0 when the configuration is valid, 1 otherwise.\n\n" +
			"With --diff it also asks the running route server (over its control socket) what a reload\n" +
			"to this file would do: which accepted routes it would filter, and why, and which filtered\n" +
			"ones it would accept. Nothing changes on the running server.",
		Flags: []cli.Flag{configFlag,
			&cli.BoolFlag{Name: "diff", Usage: "compare with the running route server: routes the new policy would filter or accept"},
			socketFlag, jsonFlag,
			&cli.IntFlag{Name: "limit", Value: 1000, Usage: "with --diff, list at most `N` routes of each kind"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := conf.Load(c.String("config"))
			if err != nil {
				var ce *conf.Error
				if !errors.As(err, &ce) {
					return &exitError{1, err} // not read at all: one line
				}
				fmt.Fprintln(c.App.ErrWriter, err)
				return &exitError{1, fmt.Errorf("%s is not valid", c.String("config"))}
			}
			n := 0
			for _, m := range cfg.Members {
				n += len(m.Neighbors)
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintln(c.App.ErrWriter, "warning: "+w.String())
			}
			if cfg.Server.User != "" {
				// A warning, not an error: the file may be checked on
				// another machine than the one that runs it.
				if _, _, _, err := lookupIdentity(cfg.Server); err != nil {
					fmt.Fprintf(c.App.ErrWriter, "warning: %v (on this machine, where fedrs run would refuse to start)\n", err)
				}
			}
			if c.Bool("diff") {
				return checkDiff(c, cfg)
			}
			fmt.Fprintf(c.App.Writer, "%s: valid (%d members, %d neighbours, %d groups)\n", cfg.File, len(cfg.Members), n, len(cfg.Groups))
			// The registry's overlaps, as `fedrs registry check` prints
			// them (a loaded configuration has no conflicting ones).
			return rpki.WriteOverlaps(c.App.Writer, rpki.RegistryFromConfig(cfg).Overlaps())
		},
	}
}

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the example federation on loopback with in-process member routers",
		Description: "Starts the route server with the embedded example configuration (three NHS trusts and\n" +
			"three councils) and one in-process BGP router per member on 127.0.0.x. The members announce\n" +
			"their prefixes and a few mistakes (a hijack, leaks) and requests (blackhole, action\n" +
			"communities); the demo prints what each member received and what was filtered, and why.\n" +
			"No root and no other software needed.\n\n" +
			"Without --once it keeps running and serves the control API on a socket in a temporary\n" +
			"directory (removed at exit); it prints the fedrs lg command that reaches it.",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "once", Usage: "exit with a summary after convergence"},
			&cli.BoolFlag{Name: "verbose", Usage: "show the route server's logs"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &exitError{2, fmt.Errorf("demo: unexpected argument %q", c.Args().First())}
			}
			var log *slog.Logger
			if c.Bool("verbose") {
				log = slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelInfo}))
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			opts := demo.Options{Once: c.Bool("once"), Out: c.App.Writer, Log: log, Version: versionString()}
			if !opts.Once {
				dir, err := os.MkdirTemp("", "fedrs-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				opts.Control = filepath.Join(dir, "fedrs.sock")
				opts.HTTP = "127.0.0.1:0"
				opts.History = filepath.Join(dir, "history.db")
			}
			sum, err := demo.Run(ctx, opts)
			if err != nil {
				return err
			}
			if sum.Established != sum.Members {
				return fmt.Errorf("only %d of %d sessions came up", sum.Established, sum.Members)
			}
			return nil
		},
	}
}
