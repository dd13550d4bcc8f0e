package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
)

// TestRunControlTCPAlias: fedrs run with the deprecated [server]
// control_tcp serves the read-only HTTP listener there, with its token,
// and logs the deprecation once.
func TestRunControlTCPAlias(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const tok = "alias-token-0123456789"
	extra := fmt.Sprintf("control_tcp = %q\ncontrol_token = %q\n", addr, tok)
	text := strings.NewReplacer(`listen = ["127.0.0.1:179"]`, `listen = []`,
		`control = ""`, fmt.Sprintf("control = %q", filepath.Join(dir, "fedrs.sock"))).Replace(rstest.Config(nil, extra))
	file := filepath.Join(dir, "fedrs.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, log) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	get := func(auth string) (int, error) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/status", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		code, err := get(tok)
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		return err
	}, "the control_tcp listener to answer with the token")
	if code, err := get(""); err != nil || code != 401 {
		t.Errorf("without the token: %d (%v), want 401", code, err)
	}
	if n := strings.Count(logs.String(), "deprecated configuration"); n != 1 || !strings.Contains(logs.String(), "control_tcp") {
		t.Errorf("%d deprecation warnings, want 1 naming control_tcp:\n%s", n, logs.String())
	}
}
