package api_test

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/wait"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/rstest"
)

// startV4Only runs the route server with nhs-a (both families) and
// v4-only, configured for both families but whose router offers only
// IPv4, plus council-c, configured but never connecting.
func startV4Only(t *testing.T) (e *env, v4 *member.Router) {
	t.Helper()
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"},
		{Name: "v4-only", ASN: 4200000004, Addr: "127.0.0.14", Raw: true},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.13", Raw: true},
	}
	e = startWith(t, rstest.Config(specs, ""), specs)
	ctx := rstest.Ctx(t)
	v4, err := member.Start(ctx, member.Config{Name: "v4-only", ASN: 4200000004, LocalAddr: netip.MustParseAddr("127.0.0.14"),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: e.fed.Port, RSASN: rstest.RSASN, Log: rstest.Log, IPv4: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v4.Stop)
	if err := v4.WaitEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Eventually(t, 5*time.Second, "the route server to see v4-only established", func() bool {
		return neighborOf(t, e, "v4-only").State == "Established"
	})
	if ng := neighborOf(t, e, "v4-only").Negotiated; ng == nil || !slices.Equal(ng.Families, []string{"ipv4-unicast"}) {
		t.Fatalf("v4-only negotiated %+v, want ipv4-unicast only", ng)
	}
	return e, v4
}

// TestClearNegotiatedFamilies: a soft clear works on the families a
// session negotiated, not the configured ones. `clear --in` on a member
// that negotiated only IPv4 (configured for both) sends it one
// ROUTE-REFRESH, which its router answers by sending its routes again;
// `--out` resends the member its routes; a member with no session gets a
// clear refusal naming why.
func TestClearNegotiatedFamilies(t *testing.T) {
	e, v4 := startV4Only(t)
	ctx := rstest.Ctx(t)
	p := pfx("10.20.0.0/16")
	if err := v4.Announce(ctx, member.Route{Prefix: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fed.Members["nhs-a"].WaitFor(ctx, "v4-only's route", rstest.Has(p)); err != nil {
		t.Fatal(err)
	}
	wait.Eventually(t, 5*time.Second, "the route server to count v4-only's UPDATE", func() bool {
		return neighborOf(t, e, "v4-only").Received == 1
	})

	// --in
	updIn := neighborOf(t, e, "v4-only").UpdatesIn
	_, recvd, err := v4.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var res api.ClearResult
	if err := e.cl.Post(ctx, "/v1/members/v4-only/clear", url.Values{"direction": {"in"}}, nil, &res); err != nil {
		t.Fatalf("clear --in of a member that negotiated fewer families than configured: %v", err)
	}
	if len(res.Sessions) != 1 || !slices.Equal(res.Sessions[0].Families, []string{"ipv4-unicast"}) ||
		!slices.ContainsFunc(res.Sessions[0].Notes, func(s string) bool { return strings.Contains(s, "ipv6-unicast not negotiated") }) ||
		!strings.Contains(res.Result, "ROUTE-REFRESH sent on 1 of 1 sessions") {
		t.Errorf("clear --in result %+v", res)
	}
	wait.EventuallyErr(t, 5*time.Second, "v4-only's router to receive one ROUTE-REFRESH", func() error {
		_, now, err := v4.Messages(ctx)
		if err == nil && now.Refresh != recvd.Refresh+1 {
			err = fmt.Errorf("it received %d ROUTE-REFRESH messages, %d before the clear", now.Refresh, recvd.Refresh)
		}
		return err
	})
	wait.Eventually(t, 5*time.Second, "v4-only to send its routes again (UPDATEs received by the route server)", func() bool {
		return neighborOf(t, e, "v4-only").UpdatesIn > updIn
	})

	// --out
	q := pfx("10.21.0.0/16")
	if err := e.fed.Members["nhs-a"].Announce(ctx, member.Route{Prefix: q}); err != nil {
		t.Fatal(err)
	}
	if _, err := v4.WaitFor(ctx, "nhs-a's route", rstest.Has(q)); err != nil {
		t.Fatal(err)
	}
	updOut := neighborOf(t, e, "v4-only").UpdatesOut
	_, recvd, err = v4.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cl.Post(ctx, "/v1/members/v4-only/clear", url.Values{"direction": {"out"}}, nil, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Sessions) != 1 || !slices.Equal(res.Sessions[0].Families, []string{"ipv4-unicast"}) {
		t.Errorf("clear --out result %+v", res)
	}
	wait.EventuallyErr(t, 5*time.Second, "v4-only's router to receive its routes again", func() error {
		_, now, err := v4.Messages(ctx)
		if err == nil && (now.Update <= recvd.Update || neighborOf(t, e, "v4-only").UpdatesOut <= updOut) {
			err = fmt.Errorf("it received %d UPDATEs, %d before the clear", now.Update, recvd.Update)
		}
		return err
	})
	if rs, err := v4.Received(ctx); err != nil || len(rs) != 1 || rs[0].Prefix != q {
		t.Errorf("v4-only holds %v (%v) after clear --out, want %s only", rs, err, q)
	}

	// No established session: refused, saying why.
	err = e.cl.Post(ctx, "/v1/members/council-c/clear", url.Values{"direction": {"in"}}, nil, &res)
	if err == nil || !strings.Contains(err.Error(), "council-c: nothing cleared: 127.0.0.13: session not established") {
		t.Errorf("clear of a member without a session: %v", err)
	}
}
