package rstest

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

type nilErr struct{}

func (*nilErr) Error() string { return "never" }

// TestStrictLogCatches: the strict logger reports what it promises and
// nothing else.
func TestStrictLogCatches(t *testing.T) {
	check := func(log func(l *slog.Logger)) []string {
		c := &strictCheck{}
		log(slog.New(&strictHandler{c: c}))
		return c.problems
	}
	var typedNil *nilErr
	for _, tc := range []struct {
		name string
		log  func(l *slog.Logger)
		want string // "" for no problem
	}{
		{"clean", func(l *slog.Logger) { l.With("member", "a").Info("up", "neighbor", "x", "err", errors.New("boom")) }, ""},
		{"twice in a record", func(l *slog.Logger) { l.Info("up", "member", "a", "member", "a") }, `key "member" twice`},
		{"With then record", func(l *slog.Logger) { l.With("component", "rpki").Info("changed", "component", "rpki") }, `key "component" twice`},
		{"With twice", func(l *slog.Logger) { l.With("component", "rpki").With("component", "rpki").Info("changed") }, `key "component" twice`},
		{"other group", func(l *slog.Logger) { l.With("member", "a").WithGroup("g").Info("x", "member", "b") }, ""},
		{"in a group", func(l *slog.Logger) { l.Info("x", slog.Group("g", "k", 1, "k", 2)) }, `key "g.k" twice`},
		{"nil err", func(l *slog.Logger) { var err error; l.Error("failed", "err", err) }, "err=<nil>"},
		{"typed nil err", func(l *slog.Logger) { l.Error("failed", "cause", typedNil) }, "cause=<nil>"},
		{"nil other", func(l *slog.Logger) { l.Info("x", "value", nil) }, ""},
	} {
		got := strings.Join(check(tc.log), "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
}
