package routeserver_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver"
)

func listenConfig(t *testing.T) *conf.Config {
	t.Helper()
	cfg, err := conf.Parse([]byte("[server]\nasn = 4200000000\nrouter_id = \"10.255.255.254\"\ncontrol = \"\"\n"+
		"[[member]]\nname = \"m0\"\nasn = 4200000001\nneighbors = [\"127.0.0.11\"]\npassive = true\nprefixes = [\"10.0.0.0/8 le 32\"]\n"), "listen.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestListenThenServe: Addrs is valid as soon as Listen returns, before
// Serve runs; Serve then runs until its context ends.
func TestListenThenServe(t *testing.T) {
	srv, err := routeserver.New(listenConfig(t), routeserver.Options{Log: slog.New(slog.DiscardHandler), Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if a := srv.Addrs(); a != nil {
		t.Fatalf("Addrs before Listen = %v, want nil", a)
	}
	if err := srv.Serve(context.Background()); err == nil {
		t.Fatal("Serve before Listen returned nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	a := srv.Addrs()
	if len(a) != 1 || a[0].Port() == 0 || a[0].Addr().String() != "127.0.0.1" {
		t.Fatalf("Addrs right after Listen = %v, want 127.0.0.1 and the port bound", a)
	}
	// Bound: a connection is accepted (the kernel completes it) before
	// Serve runs.
	c, err := net.Dial("tcp", a[0].String())
	if err != nil {
		t.Fatalf("dial %s after Listen: %v", a[0], err)
	}
	c.Close()
	if err := srv.Listen(ctx); err == nil {
		t.Fatal("a second Listen returned nil")
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestListenAddressInUse: Listen reports a port in use at once, naming the
// address, and Run returns the same error.
func TestListenAddressInUse(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	srv, err := routeserver.New(listenConfig(t), routeserver.Options{Log: slog.New(slog.DiscardHandler), Listen: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Listen(context.Background())
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Listen on %s, which is in use: %v, want an error naming the address", addr, err)
	}
	if srv.Addrs() != nil {
		t.Errorf("Addrs after a failed Listen = %v, want nil", srv.Addrs())
	}
	if err := srv.Run(context.Background()); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Run on %s, which is in use: %v, want the error naming the address", addr, err)
	}
}
