package routeserver_test

import (
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
)

// LastReload is zero until a reload succeeds, refused ones leave it.
func TestLastReload(t *testing.T) {
	fed := rstest.Start(t, nil, "", routeserver.Options{})
	if got := fed.Srv.LastReload(); !got.IsZero() {
		t.Fatalf("LastReload before any reload: %v", got)
	}
	if _, err := fed.Srv.Reload(&conf.Config{}); err == nil {
		t.Fatal("an empty configuration was accepted")
	}
	if got := fed.Srv.LastReload(); !got.IsZero() {
		t.Fatalf("LastReload after a refused reload: %v", got)
	}
	cfg, err := conf.Parse([]byte(rstest.Config(nil, "")), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fed.Srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if fed.Srv.LastReload().IsZero() {
		t.Error("LastReload after a reload is zero")
	}
}
