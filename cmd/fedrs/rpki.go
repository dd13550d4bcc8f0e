package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/rpki"
	"github.com/urfave/cli/v2"
)

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON"}

// loadRPKI builds the RPKI manager of a configuration and waits until every
// source has loaded (or the timeout passes).
func loadRPKI(ctx context.Context, path string, timeout time.Duration) (*rpki.Manager, *conf.Config, context.CancelFunc, error) {
	cfg, err := conf.Load(path)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	// Warnings only: a command's stderr is for what went wrong.
	m := rpki.NewManagerFromConfig(cfg, rpki.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	go m.Run(ctx)
	select {
	case <-m.Ready():
	case <-time.After(timeout):
		fmt.Fprintf(os.Stderr, "fedrs: not every RPKI source loaded within %v; showing what has\n", timeout)
	}
	return m, cfg, cancel, nil
}

func rpkiCommand() *cli.Command {
	timeout := &cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "how long to wait for the RPKI sources"}
	return &cli.Command{
		Name:  "rpki",
		Usage: "RPKI data: status, origin validation, ASPA",
		Description: "status asks the running route server what it validates with. lookup and aspa (and\n" +
			"status --offline) load the RPKI sources of the configuration (JSON and SLURM files, RTR\n" +
			"caches, the federation registry) here, the way the route server does, and answer from them.",
		Subcommands: []*cli.Command{
			{
				Name:  "status",
				Usage: "the RPKI data the running route server uses: sources, serials, counts, ages",
				Description: "Asks the running route server over its control socket (GET /v1/rpki) for the RPKI\n" +
					"data it validates with: the serial and totals of the merged set, and every source (RTR\n" +
					"cache, JSON file, SLURM file, the federation registry) with its address or path, state,\n" +
					"serial, VRP and ASPA counts, and when it last changed. Exit status 1 when the route server\n" +
					"cannot be reached. With --offline, loads the sources of the configuration here instead\n" +
					"and shows them (the route server is not asked).\n\n" +
					"Example: fedrs rpki status -c /etc/fedrs/fedrs.toml",
				Flags: []cli.Flag{socketFlag, configFlag, timeout, jsonFlag,
					&cli.BoolFlag{Name: "offline", Usage: "load the configured sources here instead of asking the running route server"}},
				Action: func(c *cli.Context) error {
					if c.Bool("offline") {
						m, cfg, cancel, err := loadRPKI(c.Context, c.String("config"), c.Duration("timeout"))
						if err != nil {
							return err
						}
						defer cancel()
						st := m.Status()
						if c.Bool("json") {
							// The same shape as the route server's answer.
							return rpki.WriteJSON(c.App.Writer, api.RPKI{InUse: rpki.Configured(cfg), Status: st})
						}
						fmt.Fprintf(c.App.Writer, "RPKI sources of %s, loaded here (--offline):\n", c.String("config"))
						return st.WriteText(c.App.Writer, time.Time{})
					}
					cl, err := client(c)
					if err != nil {
						return &exitError{1, err}
					}
					var st api.RPKI
					if err := cl.Get(c.Context, "/v1/rpki", nil, &st); err != nil {
						return &exitError{1, fmt.Errorf("%w; fedrs rpki status --offline loads the configured sources here instead", err)}
					}
					if c.Bool("json") {
						return rpki.WriteJSON(c.App.Writer, st)
					}
					if st.InUse {
						fmt.Fprintf(c.App.Writer, "RPKI data the route server validates with (%s):\n", cl.Socket)
					} else {
						fmt.Fprintf(c.App.Writer, "The route server's configuration has no RPKI data: routes are not validated (rpki and aspa not-checked) (%s).\n", cl.Socket)
					}
					return st.WriteText(c.App.Writer, time.Time{})
				},
			},
			{
				Name:      "lookup",
				Usage:     "origin validation state of a route and the VRPs that decided it",
				ArgsUsage: "PREFIX ORIGIN-AS",
				Flags:     []cli.Flag{configFlag, timeout, jsonFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return &exitError{2, errors.New("usage: fedrs rpki lookup PREFIX ORIGIN-AS (e.g. 10.40.0.0/16 4200002001)")}
					}
					m, _, cancel, err := loadRPKI(c.Context, c.String("config"), c.Duration("timeout"))
					if err != nil {
						return err
					}
					defer cancel()
					ex, err := rpki.Lookup(m.Snapshot(), c.Args().Get(0), c.Args().Get(1))
					if err != nil {
						return &exitError{2, err}
					}
					if c.Bool("json") {
						return rpki.WriteJSON(c.App.Writer, ex)
					}
					return ex.WriteText(c.App.Writer)
				},
			},
			{
				Name:      "aspa",
				Usage:     "ASPA upstream verification of an AS_PATH (neighbour first)",
				ArgsUsage: "AS...",
				Flags: []cli.Flag{configFlag, timeout, jsonFlag,
					&cli.StringFlag{Name: "neighbor", Usage: "the member's `AS` the path came from: the first AS must be it (default: the path's first AS)"}},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return &exitError{2, errors.New("usage: fedrs rpki aspa AS... (the AS_PATH, neighbour first; {A,B} for an AS_SET)")}
					}
					var neighbor uint32
					if v := c.String("neighbor"); v != "" {
						n, err := rpki.ParseASN(v)
						if err != nil {
							return &exitError{2, fmt.Errorf("--neighbor: %w", err)}
						}
						neighbor = n
					}
					m, _, cancel, err := loadRPKI(c.Context, c.String("config"), c.Duration("timeout"))
					if err != nil {
						return err
					}
					defer cancel()
					asns, _, err := rpki.ParsePath(c.Args().Slice())
					if err != nil {
						return &exitError{2, err}
					}
					if neighbor == 0 && len(asns) > 0 {
						neighbor = asns[0]
					}
					ex, err := rpki.CheckPath(m.Snapshot(), c.Args().Slice(), neighbor)
					if err != nil {
						return &exitError{2, err}
					}
					if c.Bool("json") {
						return rpki.WriteJSON(c.App.Writer, ex)
					}
					return ex.WriteText(c.App.Writer)
				},
			},
		},
	}
}

func registryCommand() *cli.Command {
	return &cli.Command{
		Name:  "registry",
		Usage: "the federation ownership registry (which member owns which prefix)",
		Subcommands: []*cli.Command{
			{
				Name:  "check",
				Usage: "list claims, overlapping claims and conflicts",
				Flags: []cli.Flag{configFlag, jsonFlag},
				Action: func(c *cli.Context) error {
					cfg, err := conf.Load(c.String("config"))
					if err != nil {
						return err
					}
					rep := rpki.RegistryFromConfig(cfg).Check()
					if c.Bool("json") {
						if err := rpki.WriteJSON(c.App.Writer, rep); err != nil {
							return err
						}
					} else if err := rep.WriteText(c.App.Writer); err != nil {
						return err
					}
					if rep.Conflicts > 0 {
						return &exitError{1, fmt.Errorf("%d conflicting claims", rep.Conflicts)}
					}
					return nil
				},
			},
			{
				Name:  "export-slurm",
				Usage: "write the registry as an RFC 8416 SLURM file (local assertions)",
				Flags: []cli.Flag{configFlag, &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"}},
				Action: func(c *cli.Context) error {
					cfg, err := conf.Load(c.String("config"))
					if err != nil {
						return err
					}
					b := rpki.RegistryFromConfig(cfg).SLURM()
					if o := c.String("output"); o != "" {
						return os.WriteFile(o, b, 0o644)
					}
					_, err = c.App.Writer.Write(b)
					return err
				},
			},
		},
	}
}
