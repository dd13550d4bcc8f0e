package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"
)

// Scenario is a topology plus expectations about what members receive: a
// scenario file is a topology file with [[expect]] tables added.
type Scenario struct {
	Topology
	// Settle is how long a scenario waits for its positive expectations
	// after the sessions are up ("30s"); default 30s.
	Settle string        `toml:"settle"`
	Expect []Expectation `toml:"expect"`
}

// Expectation is one [[expect]]: member Member receives (or, with
// Receives = false, does not receive) Prefix, optionally from a given
// member and with given attributes.
type Expectation struct {
	// Description says what the expectation shows ("hijack of trust-a's
	// prefix is not propagated").
	Description string `toml:"description"`
	// Member is the receiving member.
	Member string       `toml:"member"`
	Prefix netip.Prefix `toml:"prefix"`
	// Receives is true by default; false expects the prefix to be absent
	// (from anyone, or from From when set).
	Receives *bool `toml:"receives"`
	// From names the member the route must come from: its NEXT_HOP is that
	// member's LAN address (a transparent route server keeps it).
	From string `toml:"from"`
	// ASPath, when set, must equal the received AS_PATH.
	ASPath []uint32 `toml:"as_path"`
	// Communities and LargeCommunities must all be present;
	// NoCommunities and NoLargeCommunities must all be absent.
	Communities        []Community      `toml:"communities"`
	LargeCommunities   []LargeCommunity `toml:"large_communities"`
	NoCommunities      []Community      `toml:"no_communities"`
	NoLargeCommunities []LargeCommunity `toml:"no_large_communities"`
	// OTC, when set, must equal the received OTC attribute (0 = absent is
	// written as no key).
	OTC uint32 `toml:"otc"`
	// FilteredReason expects the route server (fedrs) to hold the route
	// for Prefix that member From announced as filtered, with this reason
	// among its reasons ("registry_conflict", or the numeric code). Member
	// is not used. It is read with "fedrs lg routes FROM --filtered".
	FilteredReason string `toml:"filtered_reason"`
}

func (e Expectation) positive() bool { return e.Receives == nil || *e.Receives }

// String says what the expectation wants, for reports.
func (e Expectation) String() string {
	var b strings.Builder
	if e.FilteredReason != "" {
		fmt.Fprintf(&b, "route server filters %s from %s with reason %s", e.Prefix, e.From, e.FilteredReason)
		return b.String()
	}
	if e.positive() {
		fmt.Fprintf(&b, "%s receives %s", e.Member, e.Prefix)
	} else {
		fmt.Fprintf(&b, "%s does not receive %s", e.Member, e.Prefix)
	}
	if e.From != "" {
		fmt.Fprintf(&b, " from %s", e.From)
	}
	if len(e.ASPath) > 0 {
		fmt.Fprintf(&b, " with AS_PATH %s", joinASNs(e.ASPath, " "))
	}
	for _, c := range e.Communities {
		fmt.Fprintf(&b, " +%s", c)
	}
	for _, c := range e.LargeCommunities {
		fmt.Fprintf(&b, " +%s", c)
	}
	for _, c := range e.NoCommunities {
		fmt.Fprintf(&b, " -%s", c)
	}
	for _, c := range e.NoLargeCommunities {
		fmt.Fprintf(&b, " -%s", c)
	}
	if e.OTC != 0 {
		fmt.Fprintf(&b, " OTC %d", e.OTC)
	}
	return b.String()
}

// ReadScenario reads and validates a scenario file.
func ReadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return ParseScenario(b, path)
}

// ParseScenario decodes and validates a scenario.
func ParseScenario(data []byte, file string) (*Scenario, error) {
	var sc Scenario
	md, err := toml.Decode(string(data), &sc)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("scenario %s:%d: %s", file, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("scenario %s: %w", file, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("scenario %s: unknown keys: %s", file, strings.Join(keys, ", "))
	}
	if err := sc.Topology.finish(file); err != nil {
		return nil, err
	}
	if err := sc.validate(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", file, err)
	}
	return &sc, nil
}

func (sc *Scenario) settle() time.Duration {
	if d, err := time.ParseDuration(sc.Settle); err == nil && d > 0 {
		return d
	}
	return 30 * time.Second
}

func (sc *Scenario) validate() error {
	if sc.Settle != "" {
		if d, err := time.ParseDuration(sc.Settle); err != nil || d <= 0 {
			return fmt.Errorf("settle %q: want a duration like \"30s\"", sc.Settle)
		}
	}
	if len(sc.Expect) == 0 {
		return errors.New("no [[expect]]: a scenario needs at least one expectation")
	}
	for i, e := range sc.Expect {
		where := fmt.Sprintf("expect %d", i+1)
		if e.FilteredReason != "" {
			if sc.RouteServer.Kind != KindFedrs {
				return fmt.Errorf("%s: filtered_reason needs route_server.kind = \"fedrs\" (it reads fedrs's looking glass), not %s", where, sc.RouteServer.Kind)
			}
			if e.From == "" {
				return fmt.Errorf("%s: filtered_reason needs from: the member that announced the route", where)
			}
			if !e.positive() || len(e.ASPath) > 0 || len(e.Communities) > 0 || len(e.LargeCommunities) > 0 ||
				len(e.NoCommunities) > 0 || len(e.NoLargeCommunities) > 0 || e.OTC != 0 {
				return fmt.Errorf("%s: filtered_reason takes only prefix and from", where)
			}
		} else if sc.Topology.Member(e.Member) == nil {
			return fmt.Errorf("%s: member %q is not in the topology", where, e.Member)
		}
		if e.From != "" && sc.Topology.Member(e.From) == nil {
			return fmt.Errorf("%s: from %q is not in the topology", where, e.From)
		}
		if !e.Prefix.IsValid() {
			return fmt.Errorf("%s: prefix is required", where)
		}
		if !e.positive() && (len(e.ASPath) > 0 || len(e.Communities) > 0 || len(e.LargeCommunities) > 0 || e.OTC != 0) {
			return fmt.Errorf("%s: receives = false takes no attributes (only from)", where)
		}
	}
	return nil
}

// Result is the outcome of one expectation.
type Result struct {
	Expectation Expectation `json:"expectation"`
	// Status is "PASS", "FAIL" or "ERROR" (could not be checked).
	Status string `json:"status"`
	// Detail says what was seen.
	Detail string `json:"detail"`
}

// Passed reports whether every result passed.
func Passed(results []Result) bool {
	for _, r := range results {
		if r.Status != "PASS" {
			return false
		}
	}
	return len(results) > 0
}

// Check evaluates expectations against the running lab once.
func (l *Lab) Check(ctx context.Context, exps []Expectation) []Result {
	cache := map[string][]Route{}
	errs := map[string]error{}
	filtered := map[string][]FedrsRoute{}
	ferrs := map[string]error{}
	out := make([]Result, len(exps))
	for i, e := range exps {
		if e.FilteredReason != "" {
			if _, ok := filtered[e.From]; !ok && ferrs[e.From] == nil {
				filtered[e.From], ferrs[e.From] = l.FedrsRoutes(ctx, e.From, "filtered")
			}
			out[i] = checkFiltered(e, filtered[e.From], ferrs[e.From])
			continue
		}
		out[i] = l.check(ctx, e, cache, errs)
	}
	return out
}

// checkFiltered judges a filtered_reason expectation against the routes
// fedrs holds as filtered from e.From.
func checkFiltered(e Expectation, routes []FedrsRoute, err error) Result {
	res := Result{Expectation: e}
	if err != nil {
		res.Status, res.Detail = "ERROR", err.Error()
		return res
	}
	for _, r := range routes {
		if p, perr := netip.ParsePrefix(r.Prefix); perr != nil || p != e.Prefix {
			continue
		}
		reasons := strings.Join(r.ReasonNames(), " ")
		if r.HasReason(e.FilteredReason) {
			res.Status, res.Detail = "PASS", "filtered: "+reasons
		} else {
			res.Status, res.Detail = "FAIL", "filtered, but not with "+e.FilteredReason+": "+reasons
		}
		return res
	}
	res.Status, res.Detail = "FAIL", fmt.Sprintf("the route server holds no filtered route for %s from %s (%d filtered routes from %s)", e.Prefix, e.From, len(routes), e.From)
	return res
}

func (l *Lab) check(ctx context.Context, e Expectation, cache map[string][]Route, errs map[string]error) Result {
	res := Result{Expectation: e}
	if _, ok := cache[e.Member]; !ok && errs[e.Member] == nil {
		cache[e.Member], errs[e.Member] = l.Routes(ctx, e.Member)
	}
	if err := errs[e.Member]; err != nil {
		res.Status, res.Detail = "ERROR", err.Error()
		return res
	}
	var candidates []Route
	for _, r := range cache[e.Member] {
		if r.Prefix == e.Prefix {
			candidates = append(candidates, r)
		}
	}
	var fromAddr netip.Addr
	if e.From != "" {
		m := l.Topology.Member(e.From)
		fromAddr = m.IPv4
		if e.Prefix.Addr().Is6() {
			fromAddr = m.IPv6
		}
	}
	var seen []string
	for _, r := range candidates {
		seen = append(seen, l.describe(r))
	}
	if !e.positive() {
		for _, r := range candidates {
			if !fromAddr.IsValid() || r.NextHop == fromAddr {
				res.Status, res.Detail = "FAIL", "received: "+l.describe(r)
				return res
			}
		}
		res.Status, res.Detail = "PASS", "not received"
		if len(seen) > 0 {
			res.Detail = "not from " + e.From + "; received " + strings.Join(seen, "; ")
		}
		return res
	}
	if len(candidates) == 0 {
		res.Status, res.Detail = "FAIL", "not received"
		return res
	}
	var why []string
	for _, r := range candidates {
		if miss := e.mismatch(r, fromAddr); miss == "" {
			res.Status, res.Detail = "PASS", l.describe(r)
			return res
		} else {
			why = append(why, miss+" in "+l.describe(r))
		}
	}
	res.Status, res.Detail = "FAIL", strings.Join(why, "; ")
	return res
}

// mismatch says how r differs from the expectation ("" when it matches).
func (e Expectation) mismatch(r Route, from netip.Addr) string {
	var m []string
	if from.IsValid() && r.NextHop != from {
		m = append(m, fmt.Sprintf("next hop %s is not %s's %s", r.NextHop, e.From, from))
	}
	if len(e.ASPath) > 0 && !slices.Equal(r.ASPath, e.ASPath) {
		m = append(m, fmt.Sprintf("AS_PATH is %s, want %s", joinASNs(r.ASPath, " "), joinASNs(e.ASPath, " ")))
	}
	for _, c := range e.Communities {
		if !slices.Contains(r.Communities, c) {
			m = append(m, "community "+c.String()+" missing")
		}
	}
	for _, c := range e.LargeCommunities {
		if !slices.Contains(r.LargeCommunities, c) {
			m = append(m, "large community "+c.String()+" missing")
		}
	}
	for _, c := range e.NoCommunities {
		if slices.Contains(r.Communities, c) {
			m = append(m, "community "+c.String()+" present")
		}
	}
	for _, c := range e.NoLargeCommunities {
		if slices.Contains(r.LargeCommunities, c) {
			m = append(m, "large community "+c.String()+" present")
		}
	}
	if e.OTC != 0 && r.OTC != e.OTC {
		m = append(m, fmt.Sprintf("OTC is %d, want %d", r.OTC, e.OTC))
	}
	return strings.Join(m, ", ")
}

// describe prints a received route with the member its next hop belongs to.
func (l *Lab) describe(r Route) string {
	who := r.NextHop.String()
	for _, m := range l.Topology.Members {
		if m.IPv4 == r.NextHop || m.IPv6 == r.NextHop {
			who = m.Name
		}
	}
	s := fmt.Sprintf("from %s, AS_PATH %s", who, joinASNs(r.ASPath, " "))
	var cs []string
	for _, c := range r.Communities {
		cs = append(cs, c.String())
	}
	for _, c := range r.LargeCommunities {
		cs = append(cs, c.String())
	}
	if len(cs) > 0 {
		s += ", communities " + strings.Join(cs, " ")
	}
	if r.OTC != 0 {
		s += fmt.Sprintf(", OTC %d", r.OTC)
	}
	return s
}

// WaitExpectations polls until every positive expectation passes (or
// ctx's deadline, or DefaultWaitTimeout), then evaluates all of them once
// more: a "does not receive" can only be judged once the routes that
// should arrive have arrived.
func (l *Lab) WaitExpectations(ctx context.Context, exps []Expectation) []Result {
	var positives []Expectation
	for _, e := range exps {
		if e.positive() {
			positives = append(positives, e)
		}
	}
	_ = Poll(ctx, "waiting for expected routes", waitBudget(ctx), pollInterval, func(ctx context.Context) (bool, string, error) {
		if err := l.checkAlive(); err != nil {
			return false, "", err
		}
		return Passed(l.Check(ctx, positives)) || len(positives) == 0, "", nil
	})
	// The wait may have used up ctx's deadline (an expectation that never
	// passes does); the final reading gets its own bounded time, unless
	// the caller cancelled.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		ctx = fresh
	}
	return l.Check(ctx, exps)
}

// RunScenario brings the scenario's lab up, waits for its sessions and
// expected routes, checks every expectation, and takes the lab down
// (unless opts.KeepOnFailure and something failed). The error is about
// running the lab; expectation outcomes are in the results.
func RunScenario(ctx context.Context, sc *Scenario, opts Options) ([]Result, error) {
	l, err := Up(ctx, &sc.Topology, opts)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, sc.settle())
	results := l.WaitExpectations(wctx, sc.Expect)
	cancel()
	if opts.KeepOnFailure && !Passed(results) {
		return results, nil
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	if err := l.Down(dctx); err != nil {
		return results, err
	}
	return results, ctx.Err()
}

// WriteResults prints the pass/fail table and a summary line.
func WriteResults(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tRESULT\tEXPECTATION\tSEEN")
	pass := 0
	for i, r := range results {
		if r.Status == "PASS" {
			pass++
		}
		what := r.Expectation.String()
		if r.Expectation.Description != "" {
			what = r.Expectation.Description + ": " + what
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, r.Status, what, r.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d of %d expectations passed\n", pass, len(results))
	return err
}
