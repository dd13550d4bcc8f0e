package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fedrs/fedrs/lab"
	"github.com/fedrs/fedrs/rpki"
)

// Defaults of Options.
const (
	DefaultSizes    = "10x1000,20x5000,50x2000,50x10000"
	DefaultTimeout  = 5 * time.Minute
	DefaultName     = "bench"
	DefaultSockRoot = "/run/fedrs-bench"
	DefaultV6Ratio  = 0.2
	bgpPort         = 179
	rtrPort         = 3323
)

// Options configure Run.
type Options struct {
	Sizes      []Size
	Contenders []string
	// Timeout bounds each contender at each size, from the route server's
	// start until convergence. Default DefaultTimeout.
	Timeout time.Duration
	// OutDir receives results.json, results.md, convergence.png and a
	// directory per size and contender with its configuration and log.
	OutDir      string
	FedrsBinary string
	Seed        uint64
	// Role makes the members announce the BGP role RS-Client and the
	// route servers role RS (gobgpd cannot).
	Role bool
	// History turns on fedrs's audit history (SQLite); HistoryDurable
	// also sets [history] durable.
	History, HistoryDurable bool
	// ChurnRate (operations per second) and ChurnFor: after convergence,
	// withdraw and re-announce random prefixes and measure the latency.
	ChurnRate float64
	ChurnFor  time.Duration
	// Name names the namespaces: fb-NAME-rs and fb-NAME-m. Default
	// DefaultName.
	Name string
	// SockRoot holds the control sockets (short paths). Default
	// DefaultSockRoot.
	SockRoot string
	// Log receives details; Progress one line per step (both optional).
	Log      *slog.Logger
	Progress io.Writer
}

// Result is one contender at one size.
type Result struct {
	Size       string `json:"size"`
	Members    int    `json:"members"`
	PrefixesV4 int    `json:"prefixes_v4_per_member"`
	PrefixesV6 int    `json:"prefixes_v6_per_member"`
	Routes     int    `json:"routes"`
	VRPs       int    `json:"vrps"`
	Contender  string `json:"contender"`
	What       string `json:"what"`
	Version    string `json:"version,omitempty"`
	// Status is converged, timeout, failed or skipped; Reason says why
	// when it is not converged.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Seconds from the route server's start: listening with its VRPs
	// loaded, every session established, every member holding every
	// route it should.
	ReadySeconds       float64 `json:"ready_s,omitempty"`
	EstablishedSeconds float64 `json:"established_s,omitempty"`
	ConvergenceSeconds float64 `json:"convergence_s,omitempty"`
	// CPU and peak RSS of the route server's processes at convergence
	// (or when it stopped).
	CPUSeconds   float64 `json:"cpu_s"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	Processes    int     `json:"processes"`
	// What the members held at convergence (or when the run stopped):
	// routes expected (summed over sessions), held of those, and held
	// that should not be (invalid, own, probes).
	Expected int `json:"expected"`
	Held     int `json:"held"`
	Extra    int `json:"extra"`
	// UpdatesReceived counts the UPDATEs the members received.
	UpdatesReceived int64        `json:"updates_received"`
	LoadGenCPU      float64      `json:"loadgen_cpu_s"`
	Load            [3]float64   `json:"load_before"`
	Churn           *ChurnResult `json:"churn,omitempty"`
	Dir             string       `json:"dir,omitempty"`
}

// Converged reports whether the contender converged.
func (r *Result) Converged() bool { return r.Status == StatusConverged }

// Result statuses.
const (
	StatusConverged = "converged"
	StatusTimeout   = "timeout"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
)

// Report is a whole run.
type Report struct {
	Date       time.Time         `json:"date"`
	Host       Host              `json:"host"`
	Seed       uint64            `json:"seed"`
	Role       bool              `json:"role"`
	History    bool              `json:"fedrs_history"`
	Durable    bool              `json:"fedrs_history_durable,omitempty"`
	Timeout    string            `json:"timeout"`
	Sizes      []Size            `json:"sizes"`
	Contenders []string          `json:"contenders"`
	Versions   map[string]string `json:"versions"`
	Results    []Result          `json:"results"`
}

// Prerequisites says what the benchmark misses on this machine to run at
// all (root, iproute2); contenders' daemons are checked one by one.
func Prerequisites() error {
	var why []string
	if os.Geteuid() != 0 {
		why = append(why, "root (network namespaces need it)")
	}
	if _, err := lab.FindBinary("ip"); err != nil {
		why = append(why, "ip (Debian package iproute2)")
	}
	if len(why) > 0 {
		return errors.New("missing " + strings.Join(why, ", "))
	}
	return nil
}

func (o *Options) defaults() error {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.SockRoot == "" {
		o.SockRoot = DefaultSockRoot
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if len(o.Sizes) == 0 {
		s, err := ParseSizes(DefaultSizes, DefaultV6Ratio)
		if err != nil {
			return err
		}
		o.Sizes = s
	}
	if len(o.Contenders) == 0 {
		o.Contenders = AllContenders
	}
	for _, c := range o.Contenders {
		if _, err := contenderByName(c); err != nil {
			return err
		}
	}
	if strings.ContainsAny(o.Name, "-/ ") || len(o.Name) > 8 {
		return fmt.Errorf("name %q: at most 8 characters, no '-', '/' or space", o.Name)
	}
	if o.OutDir == "" {
		return errors.New("no output directory")
	}
	if o.FedrsBinary != "" {
		if abs, err := filepath.Abs(o.FedrsBinary); err == nil {
			o.FedrsBinary = abs
		}
	}
	if o.ChurnRate > 0 && o.ChurnFor <= 0 {
		o.ChurnFor = 30 * time.Second
	}
	return nil
}

// Run benchmarks every contender at every size, one after the other, and
// writes the results into o.OutDir as it goes (results.json, results.md,
// convergence.png). A contender that is missing, fails or does not
// converge in time is reported as such; Run returns an error only when it
// cannot run at all or ctx ends.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if err := Prerequisites(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	rep := &Report{Date: time.Now().UTC(), Host: hostInfo(), Seed: o.Seed, Role: o.Role, History: o.History, Durable: o.HistoryDurable,
		Timeout: o.Timeout.String(), Sizes: o.Sizes, Contenders: o.Contenders, Versions: map[string]string{}}
	sockDir := filepath.Join(o.SockRoot, o.Name)
	defer os.RemoveAll(sockDir)
	for _, size := range o.Sizes {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		start := time.Now()
		t, err := NewTable(TableOptions{Members: size.Members, PrefixesV4: size.PrefixesV4, PrefixesV6: size.PrefixesV6, Seed: o.Seed})
		if err != nil {
			return rep, fmt.Errorf("size %s: %w", size, err)
		}
		encs := make([][2]*Encoded, len(t.Members))
		for m := range t.Members {
			for _, f := range []Family{IPv4, IPv6} {
				if t.PerMember(f) > 0 {
					if encs[m][f], err = t.Encode(f, m); err != nil {
						return rep, fmt.Errorf("size %s: %w", size, err)
					}
				}
			}
		}
		fmt.Fprintf(o.Progress, "%s: %d members × %d IPv4 + %d IPv6 prefixes = %d routes, %d VRPs (generated in %s)\n",
			size, size.Members, size.PrefixesV4, size.PrefixesV6, t.Routes(), len(t.VRPs), time.Since(start).Round(time.Millisecond))
		for _, name := range o.Contenders {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			c, _ := contenderByName(name)
			res := runOne(ctx, &o, c, t, encs, size, sockDir)
			if res.Version != "" {
				rep.Versions[name] = res.Version
			}
			rep.Results = append(rep.Results, res)
			fmt.Fprintf(o.Progress, "  %-12s %s\n", name, res.summary())
			if err := WriteOutputs(rep, o.OutDir); err != nil {
				return rep, err
			}
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

func (r *Result) summary() string {
	switch r.Status {
	case StatusConverged:
		s := fmt.Sprintf("converged in %.2f s (ready %.2f s), CPU %.2f s, peak RSS %s", r.ConvergenceSeconds, r.ReadySeconds,
			r.CPUSeconds, mib(r.PeakRSSBytes))
		if r.Churn != nil {
			s += fmt.Sprintf("; churn %d ops: p50 %.1f ms, p99 %.1f ms, %d missed", r.Churn.Ops, r.Churn.P50ms, r.Churn.P99ms, r.Churn.Missed)
		}
		return s
	case StatusSkipped:
		return "skipped: " + r.Reason
	}
	return fmt.Sprintf("%s: %s (CPU %.2f s, peak RSS %s, held %d of %d routes, %d unexpected)", r.Status, r.Reason,
		r.CPUSeconds, mib(r.PeakRSSBytes), r.Held, r.Expected, r.Extra)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// runOne measures one contender at one size.
func runOne(ctx context.Context, o *Options, c *contender, t *Table, encs [][2]*Encoded, size Size, sockDir string) (res Result) {
	res = Result{Size: size.String(), Members: size.Members, PrefixesV4: size.PrefixesV4, PrefixesV6: size.PrefixesV6,
		Routes: t.Routes(), VRPs: len(t.VRPs), Contender: c.name, What: c.what}
	env := &Env{Table: t, Dir: filepath.Join(o.OutDir, "runs", size.String(), c.name), SockDir: sockDir,
		Listen: [2]netip.Addr{RSAddr4, RSAddr6}, Port: bgpPort, RTR: netip.AddrPortFrom(RTRAddr4, rtrPort),
		Role: o.Role, History: o.History, HistoryDurable: o.HistoryDurable, FedrsBinary: o.FedrsBinary}
	res.Dir = env.Dir
	fail := func(status, format string, args ...any) Result {
		res.Status, res.Reason = status, fmt.Sprintf(format, args...)
		return res
	}
	if msg := c.missing(env); msg != "" {
		return fail(StatusSkipped, "%s", msg)
	}
	if c.name == GoBGP && o.Role {
		o.Log.Info("gobgpd does not implement the BGP role: its sessions run without")
	}
	for _, d := range []string{env.Dir, env.SockDir} {
		if err := os.RemoveAll(d); err != nil {
			return fail(StatusFailed, "%v", err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(StatusFailed, "%v", err)
		}
	}
	res.Version = c.version(env)
	if err := c.configure(env); err != nil {
		return fail(StatusFailed, "writing the configuration: %v", err)
	}
	tp, err := buildTopology(o.Name, t)
	if err != nil {
		return fail(StatusFailed, "building the namespaces: %v", err)
	}
	defer func() {
		if err := tp.close(); err != nil {
			o.Log.Warn("teardown", "err", err)
			if res.Reason == "" {
				res.Reason = "teardown: " + err.Error()
			}
		}
	}()
	if c.name == GoBGP {
		stop, err := startRTR(ctx, tp, env, o.Log)
		if err != nil {
			return fail(StatusFailed, "RTR server: %v", err)
		}
		defer stop()
	}

	res.Load = loadAvg()
	self0 := selfCPU()
	logPath := filepath.Join(env.Dir, c.name+".log")
	t0 := time.Now()
	cmd, err := lab.StartInNamespace(tp.rsNS, c.argv(env), nil, env.Dir, logPath)
	if err != nil {
		return fail(StatusFailed, "starting: %v", err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	rctx, cancel := context.WithDeadline(ctx, t0.Add(o.Timeout))
	defer cancel()
	measure := func() {
		if u, err := nsUsage(tp.rsNS); err == nil && u.Processes > 0 {
			res.CPUSeconds, res.PeakRSSBytes, res.Processes = u.CPU, u.PeakRSS, u.Processes
		}
	}
	died := func(err error) Result {
		return fail(StatusFailed, "the route server exited (%v)%s", err, logTail(logPath))
	}

	// Ready: listening, and holding its VRPs.
	status := "not listening on port 179"
	for ready := false; !ready; {
		select {
		case err := <-exited:
			return died(err)
		case <-rctx.Done():
			measure()
			if ctx.Err() != nil {
				return fail(StatusFailed, "interrupted")
			}
			return fail(StatusTimeout, "not ready after %s: %s", o.Timeout, status)
		case <-time.After(20 * time.Millisecond):
		}
		if !lab.ListeningOn(pid, bgpPort) {
			continue
		}
		ready, status = true, ""
		if c.ready != nil {
			ready, status = c.ready(rctx, env)
		}
	}
	res.ReadySeconds = time.Since(t0).Seconds()

	// The members.
	conv := NewConvergence()
	var churn *Churn
	if o.ChurnRate > 0 {
		churn = NewChurn(t)
	}
	speakers := map[sessionKey]*Speaker{}
	var recvs []*Receiver
	for _, f := range env.families() {
		for m := range t.Members {
			r := NewReceiver(t, f, m, conv, churn)
			recvs = append(recvs, r)
			speakers[sessionKey{m, f}] = NewSpeaker(SpeakerConfig{Table: t, Family: f, Member: m,
				RS: netip.AddrPortFrom(env.Listen[f], bgpPort), RSASN: RSASN, Role: o.Role,
				Dial: tp.worker.Dial, Updates: encs[m][f], Receiver: r})
		}
	}
	sctx, scancel := context.WithCancel(rctx)
	defer scancel()
	errc := make(chan error, len(speakers))
	var wg sync.WaitGroup
	for _, sp := range speakers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := sp.Connect(sctx)
			if err == nil {
				err = sp.Run(sctx)
			}
			if sctx.Err() != nil {
				err = nil
			}
			errc <- err
		}()
	}
	stopSpeakers := func() {
		scancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			o.Log.Warn("speakers did not stop within 15s")
		}
	}
	collect := func() {
		for _, r := range recvs {
			st := r.Stats()
			res.Expected += st.Expected
			res.Held += st.Held
			res.Extra += st.Extra
			res.UpdatesReceived += st.Updates
		}
		var last time.Time
		for _, sp := range speakers {
			if e := sp.Established(); e.After(last) {
				last = e
			}
		}
		if !last.IsZero() {
			res.EstablishedSeconds = last.Sub(t0).Seconds()
		}
		res.LoadGenCPU = selfCPU() - self0
	}

	every := 10 * time.Second
	debug := o.Log.Enabled(ctx, slog.LevelDebug)
	if debug {
		every = 500 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
wait:
	for {
		select {
		case <-conv.C():
			measure()
			res.Status = StatusConverged
			res.ConvergenceSeconds = conv.At().Sub(t0).Seconds()
			collect()
			break wait
		case err := <-errc:
			if err != nil {
				measure()
				stopSpeakers()
				collect()
				return fail(StatusFailed, "%v", err)
			}
		case err := <-exited:
			stopSpeakers()
			collect()
			return died(err)
		case <-rctx.Done():
			measure()
			stopSpeakers()
			collect()
			if ctx.Err() != nil {
				return fail(StatusFailed, "interrupted")
			}
			return fail(StatusTimeout, "did not converge within %s", o.Timeout)
		case <-tick.C:
			d, n := conv.Progress()
			held, exp := 0, 0
			for _, r := range recvs {
				st := r.Stats()
				held += st.Held
				exp += st.Expected
			}
			fmt.Fprintf(o.Progress, "  %-12s %.0f s: %d of %d sessions complete, %.1f%% of the routes delivered\n",
				c.name, time.Since(t0).Seconds(), d, n, 100*float64(held)/float64(max(exp, 1)))
			if debug {
				for key, sp := range speakers {
					if r := sp.cfg.Receiver; !r.Done() {
						o.Log.Debug("session not complete", "session", sp.Name(), "member", key.member, "stats", r.Stats())
					}
				}
			}
		}
	}

	if churn != nil {
		cr, err := measureChurn(rctx, o, t, speakers, recvs, churn)
		if err != nil {
			stopSpeakers()
			return fail(StatusFailed, "churn: %v", err)
		}
		stopSpeakers()
		var samples []time.Duration
		for _, r := range recvs {
			samples = append(samples, r.Samples()...)
		}
		s := summarize(samples, cr.Receives)
		s.Rate, s.Seconds, s.Ops = cr.Rate, cr.Seconds, cr.Ops
		res.Churn = &s
	} else {
		stopSpeakers()
	}
	res.LoadGenCPU = selfCPU() - self0
	return res
}

// measureChurn runs the churn phase and waits for the receivers to settle.
func measureChurn(ctx context.Context, o *Options, t *Table, speakers map[sessionKey]*Speaker, recvs []*Receiver, c *Churn) (ChurnResult, error) {
	start := time.Now()
	ops, err := runChurn(ctx, t, speakers, c, o.ChurnRate, o.ChurnFor, o.Seed)
	if err != nil {
		return ChurnResult{}, err
	}
	res := ChurnResult{Rate: o.ChurnRate, Seconds: time.Since(start).Seconds(), Ops: ops[IPv4] + ops[IPv6]}
	for _, f := range []Family{IPv4, IPv6} {
		res.Receives += ops[f] * (len(t.Members) - 1)
	}
	// Settled: no UPDATE for a second, or 30 s.
	for i := 0; i < 300 && ctx.Err() == nil; i++ {
		quiet := true
		for _, r := range recvs {
			if time.Since(r.LastUpdate()) < time.Second {
				quiet = false
				break
			}
		}
		if quiet {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return res, nil
}

// startRTR serves the run's VRPs over RTR from the members' namespace.
func startRTR(ctx context.Context, tp *topology, e *Env, log *slog.Logger) (stop func(), err error) {
	path := filepath.Join(e.Dir, "vrps.json")
	if err := WriteVRPs(e.Table, path); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	if !log.Enabled(ctx, slog.LevelDebug) {
		log = slog.New(slog.DiscardHandler)
	}
	m := rpki.NewManager(rpki.Options{Logger: log})
	m.AddFile(path)
	go m.Run(ctx)
	select {
	case <-m.Ready():
	case <-time.After(time.Minute):
		cancel()
		return nil, errors.New("VRP file not loaded within a minute")
	}
	ln, err := tp.worker.Listen(e.RTR)
	if err != nil {
		cancel()
		return nil, err
	}
	srv := rpki.NewRTRServer(m, rpki.ServerOptions{Logger: log})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil {
			log.Warn("RTR server", "err", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// logTail returns the end of a log file for an error message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return "; end of " + path + ":\n" + strings.Join(lines, "\n")
}
