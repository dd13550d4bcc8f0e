package history_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
)

// TestControlRequestsRecorded: control requests are events of kind
// control with their caller, for the operator; a member's events leave
// them out.
func TestControlRequestsRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	rec, err := history.Open(path, history.Options{CommitDelay: time.Millisecond, Log: rstest.Log})
	must(t, err)
	defer rec.Close()
	cfg, err := conf.Parse([]byte(rstest.Config(rstest.Three(), "")), "test.toml")
	must(t, err)
	rec.ConfigLoaded(cfg, "")
	uid, gid, pid := 1000, 1001, 4242
	rec.ControlRequested(history.ControlRequest{Command: "POST /v1/members/nhs-a/clear", UID: &uid, GID: &gid, PID: &pid, Status: 200, Result: "ok"})
	rec.ControlRequested(history.ControlRequest{Command: "POST /v1/reload", UID: &uid, GID: &gid, PID: &pid, Status: 403, Result: "read-only", ReadOnly: true})
	rec.ControlRequested(history.ControlRequest{Command: "SIGHUP reload", Status: 422, Result: "bad file"})
	ctx := context.Background()
	must(t, rec.Sync(ctx))
	rd, err := history.OpenReader(path)
	must(t, err)
	defer rd.Close()

	page, err := rd.Events(ctx, history.EventQuery{Kinds: []string{history.EventControl}})
	must(t, err)
	want := []string{ // newest first
		"control request SIGHUP reload by an unknown caller refused: bad file",
		"control request POST /v1/reload by uid 1000 (gid 1001, pid 4242) refused on the read-only socket",
		"control request POST /v1/members/nhs-a/clear by uid 1000 (gid 1001, pid 4242) done",
	}
	if len(page.Events) != len(want) {
		t.Fatalf("%d control events, want %d: %+v", len(page.Events), len(want), page.Events)
	}
	for i, e := range page.Events {
		if e.Text != want[i] || e.Kind != history.EventControl {
			t.Errorf("event %d: %q (%s), want %q", i, e.Text, e.Kind, want[i])
		}
	}
	if e := page.Events[2]; e.UID == nil || *e.UID != 1000 || *e.GID != 1001 || *e.PID != 4242 || e.Status != 200 || e.Command != "POST /v1/members/nhs-a/clear" {
		t.Errorf("member clear event: %+v", e)
	}
	mine, err := rd.Events(ctx, history.EventQuery{Member: "nhs-a"})
	must(t, err)
	for _, e := range mine.Events {
		if e.Kind == history.EventControl {
			t.Errorf("a member's events include a control request: %+v", e)
		}
	}
	all, err := rd.Events(ctx, history.EventQuery{})
	must(t, err)
	n := 0
	for _, e := range all.Events {
		if e.Kind == history.EventControl {
			n++
		}
	}
	if n != 3 {
		t.Errorf("all events: %d control requests, want 3", n)
	}
}
