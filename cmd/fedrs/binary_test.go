package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
)

// The tests that run fedrs as an operator does use the real binary, built
// once (on first use) and removed by TestMain.
var binary struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// fedrsBinary builds cmd/fedrs once and returns the binary's path
// ($FEDRS_TEST_BINARY instead, when set: to test another build).
func fedrsBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		if p := os.Getenv("FEDRS_TEST_BINARY"); p != "" {
			binary.path = p
			return
		}
		if binary.dir, binary.err = os.MkdirTemp("", "fedrs-test-bin-"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "fedrs")
		if out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/fedrs: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// result is what a run of the binary printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit status %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// fedrsCmd runs the binary with args (env adds to the environment, with
// FEDRS_CONFIG unset unless env sets it) and waits for it, for at most a
// minute.
func fedrsCmd(t testing.TB, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, fedrsBinary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("fedrs %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("fedrs %v did not finish within a minute:\n%s", args, r)
	}
	return r
}

// cleanEnv is the test's environment without FEDRS_CONFIG.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, configEnv+"=") {
			env = append(env, e)
		}
	}
	return env
}

// daemon is a fedrs child process (fedrs run, fedrs demo).
type daemon struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	state  *os.ProcessState
}

// startDaemon starts the binary with args; the test's cleanup stops it
// (SIGTERM, then SIGKILL after 10s).
func startDaemon(t testing.TB, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(fedrsBinary(t), args...)
	d.cmd.Env = cleanEnv()
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		d.state = d.cmd.ProcessState
		close(d.done)
	}()
	t.Cleanup(func() { d.stop(10 * time.Second) })
	return d
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// exited reports whether the process has ended.
func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end by itself and returns its exit
// status.
func (d *daemon) wait(within time.Duration) int {
	d.t.Helper()
	select {
	case <-d.done:
	case <-time.After(within):
		d.t.Fatalf("fedrs %v still running after %v\nstderr:\n%s", d.cmd.Args[1:], within, d.stderr)
	}
	return d.state.ExitCode()
}

// stop sends SIGTERM and waits; SIGKILL after within.
func (d *daemon) stop(within time.Duration) {
	if d.exited() {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(within):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// kill sends SIGKILL (a crash) and waits for the process to end.
func (d *daemon) kill() {
	d.cmd.Process.Kill()
	<-d.done
}

// waitSocket waits until the control socket at sock answers.
func waitSocket(t testing.TB, d *daemon, sock string) {
	t.Helper()
	rstest.Eventually(t, 30*time.Second, func() bool {
		if d.exited() {
			t.Fatalf("fedrs %v exited (%v):\n%s", d.cmd.Args[1:], d.state, d.stderr)
		}
		r := fedrsCmd(t, nil, "lg", "summary", "--socket", sock, "--json")
		return r.code == 0
	}, "the control socket "+sock+" to answer")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// checkJSONLog fails t for a line of a --log-format json log that is not
// a JSON object, repeats a key within an object, or has a nil error
// ("err": null or "<nil>").
func checkJSONLog(t testing.TB, log string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		if problem := jsonLogProblem(line); problem != "" {
			t.Errorf("log line %s: %s", line, problem)
		}
	}
}

func jsonLogProblem(line string) string {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var object func(path string) string
	object = func(path string) string {
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err.Error()
			}
			key := tok.(string)
			if seen[key] {
				return fmt.Sprintf("key %q twice", path+key)
			}
			seen[key] = true
			tok, err = dec.Token()
			if err != nil {
				return err.Error()
			}
			switch v := tok.(type) {
			case json.Delim:
				if v == '{' {
					if p := object(path + key + "."); p != "" {
						return p
					}
				} else if v == '[' {
					var skip []any
					for dec.More() {
						var x any
						if err := dec.Decode(&x); err != nil {
							return err.Error()
						}
						skip = append(skip, x)
					}
				}
				dec.Token() // the closing delimiter
			case nil:
				if key == "err" || key == "error" {
					return fmt.Sprintf("%s is null", path+key)
				}
			case string:
				if (key == "err" || key == "error") && v == "<nil>" {
					return fmt.Sprintf("%s is <nil>", path+key)
				}
			}
		}
		return ""
	}
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return "not a JSON object"
	}
	return object("")
}

func TestJSONLogProblem(t *testing.T) {
	for line, want := range map[string]string{
		`{"time":"x","level":"INFO","msg":"up","member":"a","n":[1,{"a":1}],"g":{"k":1}}`: "",
		`{"msg":"RPKI data changed","component":"rpki","component":"rpki"}`:               `key "component" twice`,
		`{"msg":"x","g":{"k":1,"k":2}}`:                                                   `key "g.k" twice`,
		`{"msg":"session down","err":null}`:                                               "err is null",
		`{"msg":"NOTIFICATION sent","err":"<nil>"}`:                                       "err is <nil>",
		`time=x level=INFO msg=up`:                                                        "not a JSON object",
	} {
		if got := jsonLogProblem(line); !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("%s: %q, want %q", line, got, want)
		}
	}
}
