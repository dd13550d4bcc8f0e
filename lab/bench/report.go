package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Output file names in Options.OutDir.
const (
	JSONFile     = "results.json"
	MarkdownFile = "results.md"
	ChartFile    = "convergence.png"
)

// WriteOutputs writes the report as JSON, a markdown table and the
// convergence chart into dir.
func WriteOutputs(rep *Report, dir string) error {
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, JSONFile), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, MarkdownFile), []byte(Markdown(rep)), 0o644); err != nil {
		return err
	}
	png, err := Chart(rep)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ChartFile), png, 0o644)
}

// Ratios are fedrs's figures divided by a contender's at the same size:
// below 1, fedrs is faster, uses less CPU, less memory.
type Ratios struct {
	Time, CPU, RSS float64 // 0: not comparable
}

// FedrsRatios returns fedrs's ratios to r (a result of the same report).
func (rep *Report) FedrsRatios(r *Result) Ratios {
	var f *Result
	for i := range rep.Results {
		x := &rep.Results[i]
		if x.Contender == Fedrs && x.Size == r.Size {
			f = x
		}
	}
	if f == nil || r.Contender == Fedrs || r.Status == StatusSkipped || f.Status == StatusSkipped {
		return Ratios{}
	}
	var q Ratios
	div := func(a, b float64) float64 {
		if a <= 0 || b <= 0 {
			return 0
		}
		return a / b
	}
	if f.Converged() && r.Converged() {
		q.Time = div(f.ConvergenceSeconds, r.ConvergenceSeconds)
		q.CPU = div(f.CPUSeconds, r.CPUSeconds)
	}
	if f.Converged() {
		q.RSS = div(float64(f.PeakRSSBytes), float64(r.PeakRSSBytes))
	}
	return q
}

func ratio(v float64) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

// groupDigits writes n as 1,234,567.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Markdown renders the report: the table (a row per size and contender,
// with fedrs's ratios), then the machine, the load and the versions.
func Markdown(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# fedrs lab bench, %s\n\n", rep.Date.Format("2006-01-02 15:04 MST"))
	b.WriteString("| size | routes | contender | result | convergence | CPU | peak RSS | fedrs ÷ time | fedrs ÷ CPU | fedrs ÷ RSS |\n")
	b.WriteString("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for i := range rep.Results {
		r := &rep.Results[i]
		res, conv := r.Status, "—"
		switch r.Status {
		case StatusConverged:
			conv = fmt.Sprintf("%.2f s", r.ConvergenceSeconds)
		case StatusTimeout:
			res = "timeout"
			conv = fmt.Sprintf("> %s (%.0f%% delivered)", shortDuration(rep.Timeout), 100*float64(r.Held)/float64(max(r.Expected, 1)))
		case StatusSkipped:
			res = "skipped"
		}
		cpu, rss := "—", "—"
		if r.Status != StatusSkipped && r.Processes > 0 {
			cpu, rss = fmt.Sprintf("%.2f s", r.CPUSeconds), mib(r.PeakRSSBytes)
		}
		q := rep.FedrsRatios(r)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Size, groupDigits(r.Routes), r.Contender, res,
			conv, cpu, rss, ratio(q.Time), ratio(q.CPU), ratio(q.RSS))
	}
	b.WriteString("\nfedrs ÷ X below 1: fedrs converged faster, used less CPU, less memory than X.\n")
	var notes []string
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Status != StatusConverged && r.Reason != "" {
			reason, _, _ := strings.Cut(r.Reason, "\n")
			notes = append(notes, fmt.Sprintf("- %s %s: %s: %s", r.Size, r.Contender, r.Status, reason))
		}
		if r.Churn != nil {
			c := r.Churn
			notes = append(notes, fmt.Sprintf("- %s %s: churn %.0f/s for %.0f s (%d operations): update latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; %d of %d updates missed",
				r.Size, r.Contender, c.Rate, c.Seconds, c.Ops, c.P50ms, c.P90ms, c.P99ms, c.MaxMs, c.Missed, c.Receives))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	h := rep.Host
	fmt.Fprintf(&b, "\nMachine: %s, %d CPUs (%s), %.0f GiB, Linux %s; load average at the start %.2f %.2f %.2f.\n",
		h.Hostname, h.CPUs, h.CPUModel, float64(h.MemBytes)/(1<<30), h.Kernel, h.Load[0], h.Load[1], h.Load[2])
	var loads []string
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Status != StatusSkipped {
			loads = append(loads, fmt.Sprintf("%s %s %.1f", r.Size, r.Contender, r.Load[0]))
		}
	}
	if len(loads) > 0 {
		fmt.Fprintf(&b, "Load average (1 min) before each run: %s.\n", strings.Join(loads, ", "))
	}
	role := "without"
	if rep.Role {
		role = "with"
	}
	fmt.Fprintf(&b, "\nLoad: MEMBERSxPREFIXES members, each announcing PREFIXES IPv4 prefixes (%s) and a fifth as many IPv6 (%s) "+
		"over one session per family, %s the BGP role; AS_PATHs of 1-8 ASes; about half the routes RPKI valid, 1.5%% invalid "+
		"(dropped by every route server); seed %d; timeout %s per run.\n", mixText(IPv4), mixText(IPv6), role, rep.Seed, rep.Timeout)
	b.WriteString("Convergence: from the route server's start until every member holds every other member's valid routes; " +
		"CPU (user+system) and peak RSS (VmHWM) summed over the route server's processes at that moment.\n")
	names := make([]string, 0, len(rep.Versions))
	for n := range rep.Versions {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		b.WriteString("\nVersions:")
		for _, n := range names {
			fmt.Fprintf(&b, " %s: %s;", n, rep.Versions[n])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mixText describes a family's length mix: "61% /24, 13% /22, ...".
func mixText(f Family) string {
	shares := append([]LengthShare(nil), f.mix()...)
	rest := 1.0
	for _, s := range shares {
		rest -= s.Share
	}
	shares = append(shares, LengthShare{f.mainBits(), rest})
	sort.SliceStable(shares, func(i, j int) bool { return shares[i].Share > shares[j].Share })
	var parts []string
	for _, s := range shares[:4] {
		parts = append(parts, fmt.Sprintf("%.0f%% /%d", 100*s.Share, s.Bits))
	}
	return strings.Join(parts, ", ") + ", ..."
}

// shortDuration drops zero units: "5m0s" → "5m", "1h0m0s" → "1h".
func shortDuration(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
