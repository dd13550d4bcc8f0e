package rstest

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// StrictLog is a logger, at every level, that fails t when a record
// repeats a key (its own or one the logger was given With, in the same
// group: "member=a ... member=a") or carries an error-valued attribute
// that is nil (err=<nil>). Records at error level also go to Log (stderr);
// the others are discarded. The failures are reported when the test ends
// (the route server logs from its own goroutines).
func StrictLog(t testing.TB) *slog.Logger {
	c := &strictCheck{}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.problems {
			t.Errorf("log: %s", p)
		}
	})
	return slog.New(&strictHandler{c: c, next: Log.Handler()})
}

type strictCheck struct {
	mu       sync.Mutex
	problems []string
	seen     map[string]bool
}

func (c *strictCheck) report(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if !c.seen[p] {
		c.seen[p] = true
		c.problems = append(c.problems, p)
	}
}

// strictHandler keeps the qualified keys given With and the open group.
type strictHandler struct {
	c      *strictCheck
	next   slog.Handler // nil: none
	keys   []string     // "group.key" of the With attributes
	prefix string       // "group." of WithGroup
}

func (h *strictHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *strictHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.keys = append([]string(nil), h.keys...)
	for _, a := range as {
		h2.keys = h.collect(h2.keys, h.prefix, a, fmt.Sprintf("With(%s)", a))
	}
	if h.next != nil {
		h2.next = h.next.WithAttrs(as)
	}
	return &h2
}

func (h *strictHandler) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.prefix = h.prefix + name + "."
	if h.next != nil {
		h2.next = h.next.WithGroup(name)
	}
	return &h2
}

func (h *strictHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		h.next.Handle(ctx, r)
	}
	keys := append([]string(nil), h.keys...)
	r.Attrs(func(a slog.Attr) bool {
		keys = h.collect(keys, h.prefix, a, fmt.Sprintf("%q", r.Message))
		return true
	})
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			h.c.report(fmt.Sprintf("%q: key %q twice (keys %s)", r.Message, k, strings.Join(keys, " ")))
		}
		seen[k] = true
	}
	return nil
}

// collect appends a's qualified key(s) to keys and reports a nil error
// value.
func (h *strictHandler) collect(keys []string, prefix string, a slog.Attr, where string) []string {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			keys = h.collect(keys, p, g, where)
		}
		return keys
	}
	if a.Key == "" {
		return keys
	}
	if v.Kind() == slog.KindAny && isNilError(a.Key, v.Any()) {
		h.c.report(fmt.Sprintf("%s: %s=<nil>", where, prefix+a.Key))
	}
	return append(keys, prefix+a.Key)
}

// isNilError reports a nil value under an error's key ("err", "error")
// or a nil error of any type.
func isNilError(key string, x any) bool {
	if x == nil {
		return key == "err" || key == "error" || strings.HasSuffix(key, "_err") || strings.HasSuffix(key, "_error")
	}
	if _, ok := x.(error); !ok {
		return false
	}
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}
