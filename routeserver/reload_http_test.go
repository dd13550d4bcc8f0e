package routeserver_test

import (
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
)

// TestReloadDefersHTTP: [http] is bound to the process; a reload that
// changes it says so and keeps the running listener's settings.
func TestReloadDefersHTTP(t *testing.T) {
	f := startFed(t, nil, "")
	cfg, err := conf.Parse([]byte(rstest.Config(nil, "\n[http]\nlisten = \"127.0.0.1:8080\"\n")), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Srv.Reload(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deferred) != 1 || !strings.HasPrefix(res.Deferred[0], "http.listen") ||
		!strings.Contains(res.String(), "not applied until restart: http.listen") {
		t.Errorf("reload result:\n%s", res)
	}
	if h := f.Srv.Config().HTTPListener(); h.Listen != "" {
		t.Errorf("running [http] listen %q, want the one it started with (none)", h.Listen)
	}
}
