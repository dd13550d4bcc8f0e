package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/fedrs/fedrs/lab/bench"
	"github.com/urfave/cli/v2"
)

func labBenchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "benchmark fedrs against BIRD, OpenBGPD and gobgpd as route servers under the same load",
		Description: "For each size (MEMBERSxPREFIXES[+IPV6PREFIXES]) and contender, builds a namespace for the route server\n" +
			"and one for the synthetic members, writes the contender's configuration with the same policy (first-AS\n" +
			"and next-hop checks, per-member prefix lists, RPKI origin validation dropping invalids), starts it, connects\n" +
			"the members and measures the time from its start until every member holds every route it should, and its\n" +
			"CPU seconds and peak RSS. Prints a table and writes results.json, results.md and convergence.png into --out.\n" +
			"Needs root; a contender whose daemon is not installed is skipped. See lab/README.md, \"Benchmark\".",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "sizes", Value: bench.DefaultSizes, Usage: "comma-separated `MEMBERSxPREFIXES[+IPV6]` (IPv6 default: --ipv6 × PREFIXES)"},
			&cli.StringFlag{Name: "contenders", Value: strings.Join(bench.AllContenders, ","), Usage: "comma-separated route servers to run"},
			&cli.DurationFlag{Name: "timeout", Value: bench.DefaultTimeout, Usage: "per contender and size, from the route server's start"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (default: fedrs-bench-DATE-TIME in the current directory)"},
			&cli.Float64Flag{Name: "ipv6", Value: bench.DefaultV6Ratio, Usage: "IPv6 prefixes per member as a `RATIO` of the IPv4 ones (0: IPv4 only)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the generated tables and VRPs"},
			&cli.BoolFlag{Name: "role", Usage: "members announce the BGP role RS-Client, route servers RS (gobgpd has no roles)"},
			&cli.BoolFlag{Name: "history", Usage: "run fedrs with its audit history (SQLite) on"},
			&cli.BoolFlag{Name: "history-durable", Usage: "run fedrs with its audit history on and [history] durable = true (no export before its event is committed)"},
			&cli.Float64Flag{Name: "churn", Usage: "after convergence, withdraw and re-announce `N` random prefixes per second and measure update latency"},
			&cli.DurationFlag{Name: "churn-for", Value: 30 * time.Second, Usage: "how long to churn"},
			labFedrsFlag,
			&cli.StringFlag{Name: "name", Value: bench.DefaultName, Usage: "namespaces are fb-`NAME`-rs and fb-NAME-m"},
			labVerboseFlag,
			&cli.StringFlag{Name: "cpuprofile", Hidden: true, Usage: "write the load generator's CPU profile to `FILE`"},
		},
		Action: labBench,
	}
}

func labBench(c *cli.Context) error {
	if c.NArg() > 0 {
		return &exitError{2, errors.New("usage: fedrs lab bench [--sizes 10x1000,20x5000] [--contenders fedrs,bird] [--timeout 5m] [--out DIR]")}
	}
	sizes, err := bench.ParseSizes(c.String("sizes"), c.Float64("ipv6"))
	if err != nil {
		return &exitError{2, fmt.Errorf("--sizes: %w", err)}
	}
	var contenders []string
	for _, s := range strings.Split(c.String("contenders"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			contenders = append(contenders, s)
		}
	}
	if err := bench.Prerequisites(); err != nil {
		return &exitError{2, fmt.Errorf("lab bench cannot run here: %w", err)}
	}
	fedrs := c.String("fedrs")
	if fedrs == "" {
		if fedrs, err = os.Executable(); err != nil {
			return fmt.Errorf("find the running fedrs binary (pass --fedrs): %w", err)
		}
	}
	out := c.String("out")
	if out == "" {
		out = "fedrs-bench-" + time.Now().Format("20060102-150405")
	}
	// The route servers run in their own namespaces with their own working
	// directories: a relative --out would name another place for them.
	if abs, err := filepath.Abs(out); err == nil {
		out = abs
	}
	o := bench.Options{
		Sizes: sizes, Contenders: contenders, Timeout: c.Duration("timeout"), OutDir: out,
		FedrsBinary: fedrs, Seed: c.Uint64("seed"), Role: c.Bool("role"), History: c.Bool("history") || c.Bool("history-durable"), HistoryDurable: c.Bool("history-durable"),
		ChurnRate: c.Float64("churn"), ChurnFor: c.Duration("churn-for"), Name: c.String("name"),
		Log: labLogger(c), Progress: c.App.ErrWriter,
	}
	if p := c.String("cpuprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := labContext(c)
	defer stop()
	rep, err := bench.Run(ctx, o)
	if rep != nil && len(rep.Results) > 0 {
		fmt.Fprintln(c.App.Writer, bench.Markdown(rep))
		abs, _ := filepath.Abs(out)
		fmt.Fprintf(c.App.Writer, "written: %s, %s, %s (configs and logs under %s)\n",
			filepath.Join(abs, bench.JSONFile), filepath.Join(abs, bench.MarkdownFile), filepath.Join(abs, bench.ChartFile),
			filepath.Join(abs, "runs"))
	}
	return err
}
