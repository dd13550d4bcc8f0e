package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// ChurnResult is what a churn phase measured: update latency from a
// member's UPDATE to each other member's receipt of the change.
type ChurnResult struct {
	Rate     float64 `json:"rate_per_s"`
	Seconds  float64 `json:"seconds"`
	Ops      int     `json:"ops"`
	Samples  int     `json:"samples"`
	Missed   int     `json:"missed"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	Receives int     `json:"expected_samples"`
}

// sessionKey names a member's session in one family.
type sessionKey struct {
	member int
	f      Family
}

// runChurn withdraws and re-announces random valid prefixes at rate
// operations per second for d: each operation toggles one prefix of a
// random member (families weighted by their sizes) and marks the time in
// c. It returns how many operations it made per family.
func runChurn(ctx context.Context, t *Table, speakers map[sessionKey]*Speaker, c *Churn, rate float64, d time.Duration, seed uint64) ([2]int, error) {
	var ops [2]int
	if rate <= 0 || d <= 0 {
		return ops, nil
	}
	r := rand.New(rand.NewPCG(seed, 0xc4))
	withdrawn := [2]map[int]bool{{}, {}}
	interval := time.Duration(float64(time.Second) / rate)
	maxOps := int(rate*d.Seconds()) + 1
	total := t.Count(IPv4) + t.Count(IPv6)
	tick := time.NewTicker(max(interval, 100*time.Microsecond))
	defer tick.Stop()
	deadline := time.Now().Add(d)
	for n := 0; n < maxOps && time.Now().Before(deadline); n++ {
		select {
		case <-ctx.Done():
			return ops, ctx.Err()
		case <-tick.C:
		}
		f := IPv4
		if r.IntN(total) >= t.Count(IPv4) {
			f = IPv6
		}
		idx := -1
		for try := 0; try < 20; try++ {
			i := r.IntN(t.Count(f))
			if !t.Invalid(f, i) {
				idx = i
				break
			}
		}
		if idx < 0 {
			continue
		}
		sp := speakers[sessionKey{t.Owner(f, idx), f}]
		if sp == nil {
			continue
		}
		announce := withdrawn[f][idx]
		var msg []byte
		var err error
		if announce {
			msg, err = t.EncodeAnnounce(f, idx)
			delete(withdrawn[f], idx)
		} else {
			msg, err = t.EncodeWithdraw(f, idx)
			withdrawn[f][idx] = true
		}
		if err != nil {
			return ops, err
		}
		c.mark(f, idx, announce)
		if err := sp.Send(msg); err != nil {
			return ops, fmt.Errorf("%s: churn: %w", sp.Name(), err)
		}
		ops[f]++
	}
	return ops, nil
}

// summarize turns the receivers' samples into percentiles.
func summarize(samples []time.Duration, expected int) ChurnResult {
	res := ChurnResult{Samples: len(samples), Receives: expected, Missed: max(0, expected-len(samples))}
	if len(samples) == 0 {
		return res
	}
	slices.Sort(samples)
	ms := func(q float64) float64 {
		i := int(q * float64(len(samples)-1))
		return float64(samples[i].Microseconds()) / 1000
	}
	res.P50ms, res.P90ms, res.P99ms = ms(0.5), ms(0.9), ms(0.99)
	res.MaxMs = float64(samples[len(samples)-1].Microseconds()) / 1000
	return res
}
