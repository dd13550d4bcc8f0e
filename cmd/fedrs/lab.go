package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/fedrs/fedrs/lab"
	"github.com/urfave/cli/v2"
)

var (
	labRootFlag = &cli.StringFlag{
		Name:    "run-root",
		Usage:   "`DIR` holding one run directory per lab (state, configs, sockets, logs)",
		Value:   lab.DefaultRunRoot,
		EnvVars: []string{"FEDRS_LAB_ROOT"},
	}
	labFedrsFlag = &cli.StringFlag{
		Name:  "fedrs",
		Usage: "fedrs `BINARY` to run as the route server (default: this fedrs)",
	}
	labWaitFlag = &cli.DurationFlag{
		Name:  "wait",
		Usage: "how long to wait for every session to be Established (0: do not wait)",
		Value: lab.DefaultWaitTimeout,
	}
	labKeepFlag = &cli.BoolFlag{
		Name:  "keep-on-failure",
		Usage: "leave a failed lab in place (namespaces, daemons, logs) for debugging; remove it with down",
	}
	labVerboseFlag = &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log every step and session change"}
)

func labCommand() *cli.Command {
	return &cli.Command{
		Name:  "lab",
		Usage: "the federation in network namespaces with real router daemons",
		Description: "Builds a route server (fedrs, or BIRD, OpenBGPD, gobgpd) and member routers (BIRD, FRR,\n" +
			"OpenBGPD, gobgpd, ExaBGP) in network namespaces on a shared peering LAN from a topology\n" +
			"file, checks scenario expectations against them, and exports containerlab topologies.\n" +
			"Needs root and the daemons (apt-get install bird2 frr openbgpd gobgpd exabgp iproute2).\n" +
			"See lab/README.md for the topology and scenario formats.",
		Subcommands: []*cli.Command{
			{
				Name: "up", Usage: "bring a topology up and wait for its sessions", ArgsUsage: "FILE",
				Flags:  []cli.Flag{labRootFlag, labFedrsFlag, labWaitFlag, labKeepFlag, labVerboseFlag},
				Action: labUp,
			},
			{
				Name: "status", Usage: "a lab's nodes, processes and sessions (without NAME: every lab)", ArgsUsage: "[NAME]",
				Flags:  []cli.Flag{labRootFlag, jsonFlag},
				Action: labStatus,
			},
			{
				Name: "exec", Usage: "run a command inside a node's namespace", ArgsUsage: "NAME NODE -- CMD [ARG...]",
				Flags:  []cli.Flag{labRootFlag},
				Action: labExec,
			},
			{
				Name: "routes", Usage: "the routes a node received (rs: what the route server received, with verdicts)", ArgsUsage: "NAME NODE",
				Flags:  []cli.Flag{labRootFlag, jsonFlag},
				Action: labRoutes,
			},
			{
				Name: "down", Usage: "stop a lab's daemons and remove its namespaces (without NAME: every lab)", ArgsUsage: "[NAME]",
				Flags:  []cli.Flag{labRootFlag, labVerboseFlag},
				Action: labDown,
			},
			{
				Name: "test", Usage: "run a scenario: up, wait, check every expectation, print a pass/fail table, down", ArgsUsage: "FILE",
				Flags: []cli.Flag{labRootFlag, labFedrsFlag, labWaitFlag, labKeepFlag, labVerboseFlag, jsonFlag,
					&cli.DurationFlag{Name: "settle", Usage: "override the scenario's settle time"}},
				Action: labTest,
			},
			labClabCommand(),
			labBenchCommand(),
		},
	}
}

// labContext cancels on Ctrl-C and SIGTERM, so that up and test tear down
// what they built.
func labContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
}

func labLogger(c *cli.Context) *slog.Logger {
	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
}

// labOptions fills the options of up and test; the fedrs binary defaults
// to the running one.
func labOptions(c *cli.Context) (lab.Options, error) {
	opts := lab.Options{
		RunRoot:       c.String("run-root"),
		FedrsBinary:   c.String("fedrs"),
		KeepOnFailure: c.Bool("keep-on-failure"),
		Logger:        labLogger(c),
		WaitTimeout:   c.Duration("wait"),
	}
	if opts.WaitTimeout == 0 {
		opts.WaitTimeout = -1
	}
	if opts.FedrsBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return opts, fmt.Errorf("find the running fedrs binary (pass --fedrs): %w", err)
		}
		opts.FedrsBinary = exe
	}
	return opts, nil
}

// prerequisites says what is missing to run topo, and how to get it.
func prerequisites(topo *lab.Topology, opts lab.Options) error {
	if err := lab.Prerequisites(topo, opts); err != nil {
		return &exitError{2, fmt.Errorf("lab %s cannot run here: %w", topo.Name, err)}
	}
	return nil
}

func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", &exitError{2, fmt.Errorf("usage: fedrs lab %s %s", c.Command.Name, what)}
	}
	return c.Args().First(), nil
}

func labUp(c *cli.Context) error {
	file, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	topo, err := lab.ReadTopology(file)
	if err != nil {
		return err // a file missing or wrong: a failure (exit status 1), as fedrs check
	}
	opts, err := labOptions(c)
	if err != nil {
		return err
	}
	if err := prerequisites(topo, opts); err != nil {
		return err
	}
	ctx, stop := labContext(c)
	defer stop()
	start := time.Now()
	l, err := lab.Up(ctx, topo, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "lab %s is up (%s)\n\n", l.Name(), time.Since(start).Round(100*time.Millisecond))
	if err := lab.WriteStatus(c.App.Writer, l.Status(ctx)); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "\ntake it down with: fedrs lab down %s%s\n", l.Name(), rootArg(c))
	return nil
}

// rootArg repeats --run-root in printed commands when it is not the
// default.
func rootArg(c *cli.Context) string {
	if r := c.String("run-root"); r != lab.DefaultRunRoot {
		return " --run-root " + r
	}
	return ""
}

func loadLab(c *cli.Context, name string) (*lab.Lab, error) {
	l, err := lab.LoadFrom(c.String("run-root"), name)
	if errors.Is(err, lab.ErrNoLab) {
		names, _ := lab.List(c.String("run-root"))
		if len(names) == 0 {
			return nil, fmt.Errorf("%w (no labs under %s)", err, c.String("run-root"))
		}
		return nil, fmt.Errorf("%w (labs under %s: %s)", err, c.String("run-root"), strings.Join(names, ", "))
	}
	return l, err
}

func labStatus(c *cli.Context) error {
	ctx, stop := labContext(c)
	defer stop()
	if c.NArg() > 1 {
		return &exitError{2, errors.New("usage: fedrs lab status [NAME]")}
	}
	if c.NArg() == 1 {
		l, err := loadLab(c, c.Args().First())
		if err != nil {
			return err
		}
		st := l.Status(ctx)
		if c.Bool("json") {
			return printJSON(c.App.Writer, st)
		}
		return lab.WriteStatus(c.App.Writer, st)
	}
	names, err := lab.List(c.String("run-root"))
	if err != nil {
		return err
	}
	left, err := lab.Leftovers()
	if err != nil {
		return err
	}
	type row struct {
		Name       string `json:"name"`
		Phase      string `json:"phase"`
		Dir        string `json:"dir,omitempty"`
		Nodes      int    `json:"nodes"`
		Running    int    `json:"running"`
		Namespaces bool   `json:"namespaces"`
	}
	var rows []row
	for _, n := range names {
		r := row{Name: n, Phase: "unreadable"}
		if l, err := lab.LoadFrom(c.String("run-root"), n); err == nil {
			st := l.Status(ctx)
			r.Phase, r.Dir, r.Nodes = st.Phase, st.Dir, len(st.Nodes)
			for _, x := range st.Nodes {
				if x.Running {
					r.Running++
				}
			}
		}
		for _, x := range left {
			r.Namespaces = r.Namespaces || x == n
		}
		rows = append(rows, r)
	}
	for _, x := range left {
		known := false
		for _, r := range rows {
			known = known || r.Name == x
		}
		if !known {
			rows = append(rows, row{Name: x, Phase: "leftover (no run directory)", Namespaces: true})
		}
	}
	if c.Bool("json") {
		if rows == nil {
			rows = []row{}
		}
		return printJSON(c.App.Writer, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(c.App.Writer, "no labs under %s\n", c.String("run-root"))
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tPHASE\tNODES RUNNING\tNAMESPACES\tRUN DIRECTORY")
	for _, r := range rows {
		ns := "none"
		if r.Namespaces {
			ns = "fl-" + r.Name + "-*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", r.Name, r.Phase, r.Running, r.Nodes, ns, dashIfEmpty(r.Dir))
	}
	return tw.Flush()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func labExec(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) > 2 && args[2] == "--" {
		args = append(args[:2], args[3:]...)
	}
	if len(args) < 3 {
		return &exitError{2, errors.New("usage: fedrs lab exec NAME NODE -- CMD [ARG...]")}
	}
	l, err := loadLab(c, args[0])
	if err != nil {
		return err
	}
	// The command gets the terminal's Ctrl-C itself (same process group);
	// fedrs only waits for it, so an interactive shell in a node survives
	// a Ctrl-C meant for what runs inside it.
	ctx, stop := labContext(c)
	defer stop()
	cmd, err := l.Command(context.WithoutCancel(ctx), args[1], args[2:]...)
	if err != nil {
		return err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.App.Writer, c.App.ErrWriter
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return &exitError{ee.ExitCode(), fmt.Errorf("%s in %s exited with status %d", args[2], args[1], ee.ExitCode())}
		}
		return err
	}
	return nil
}

func labRoutes(c *cli.Context) error {
	if c.NArg() != 2 {
		return &exitError{2, errors.New("usage: fedrs lab routes NAME NODE")}
	}
	l, err := loadLab(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	ctx, stop := labContext(c)
	defer stop()
	routes, err := l.Routes(ctx, c.Args().Get(1))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if routes == nil {
			routes = []lab.Route{}
		}
		return printJSON(c.App.Writer, routes)
	}
	if err := lab.WriteRoutes(c.App.Writer, routes); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%d routes\n", len(routes))
	return nil
}

func labDown(c *cli.Context) error {
	ctx, stop := labContext(c)
	defer stop()
	root := c.String("run-root")
	var names []string
	switch c.NArg() {
	case 0:
		listed, err := lab.List(root)
		if err != nil {
			return err
		}
		left, err := lab.Leftovers()
		if err != nil {
			return err
		}
		for _, n := range append(listed, left...) {
			if !contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			fmt.Fprintf(c.App.Writer, "no labs under %s and no lab namespaces: nothing to do\n", root)
			return nil
		}
	case 1:
		names = []string{c.Args().First()}
	default:
		return &exitError{2, errors.New("usage: fedrs lab down [NAME]")}
	}
	var errs []error
	for _, n := range names {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		err := lab.DownName(dctx, root, n)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(c.App.Writer, "lab %s is down (logs and configs kept in %s)\n", n, filepath.Join(root, n))
	}
	return errors.Join(errs...)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func labTest(c *cli.Context) error {
	file, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	sc, err := lab.ReadScenario(file)
	if err != nil {
		return err // a failure (exit status 1), as fedrs check
	}
	if d := c.Duration("settle"); d > 0 {
		sc.Settle = d.String()
	}
	opts, err := labOptions(c)
	if err != nil {
		return err
	}
	if err := prerequisites(&sc.Topology, opts); err != nil {
		return err
	}
	ctx, stop := labContext(c)
	defer stop()
	start := time.Now()
	results, err := lab.RunScenario(ctx, sc, opts)
	if results != nil {
		if c.Bool("json") {
			if perr := printJSON(c.App.Writer, results); perr != nil {
				return perr
			}
		} else {
			fmt.Fprintf(c.App.Writer, "scenario %s (%s)\n", sc.Name, file)
			if werr := lab.WriteResults(c.App.Writer, results); werr != nil {
				return werr
			}
			fmt.Fprintf(c.App.Writer, "took %s\n", time.Since(start).Round(100*time.Millisecond))
		}
	}
	if err != nil {
		return err
	}
	if !lab.Passed(results) {
		return &exitError{1, fmt.Errorf("scenario %s: not every expectation passed", sc.Name)}
	}
	return nil
}
