package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLabClab(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, err := runCLI(t, "lab", "clab", "../../lab/scenarios/federation.toml", "-o", dir,
		"--image", "bird=example.org/bird:2", "--fedrs-image", "example.org/fedrs:1")
	if err != nil {
		t.Fatalf("lab clab: %v\n%s", err, out)
	}
	for _, want := range []string{
		"containerlab topology of scenario federation",
		filepath.Join(dir, "federation.clab.yml"),
		filepath.Join(dir, "rs", "fedrs.toml"),
		filepath.Join(dir, "lan", "start.sh"),
		"example.org/fedrs:1 (fedrs): pulled by containerlab",
		"fedrs-lab-daemons:latest (openbgpd, gobgp): build it from the fedrs repository's top directory: docker build -f lab/Dockerfile --target daemons",
		"cd " + dir + " && sudo containerlab deploy -t federation.clab.yml",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	y, err := os.ReadFile(filepath.Join(dir, "federation.clab.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(y), "image: example.org/bird:2") || !strings.Contains(string(y), "image: example.org/fedrs:1") {
		t.Errorf("images not used:\n%s", y)
	}

	// A topology file; the default directory is ./clab-NAME.
	topo, _ := filepath.Abs("../../lab/topologies/example.toml")
	t.Chdir(t.TempDir())
	out, err = runCLI(t, "lab", "clab", topo)
	if err != nil || !strings.Contains(out, "containerlab topology of lab example") {
		t.Fatalf("lab clab example: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join("clab-example", "example.clab.yml")); err != nil {
		t.Error(err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "clab"}, "usage: fedrs lab clab FILE"},
		{[]string{"lab", "clab", topo, "--image", "bird"}, "want KIND=IMAGE"},
		{[]string{"lab", "clab", topo, "--image", "quagga=x"}, `no node kind "quagga"`},
		{[]string{"lab", "clab", "nonexistent.toml"}, "nonexistent.toml"},
	} {
		out, err := runCLI(t, tc.args...)
		code := 2
		if strings.HasSuffix(tc.args[len(tc.args)-1], ".toml") {
			code = 1 // a missing file is a failure, not a usage error
		}
		if err == nil || exitCode(err) != code || !strings.Contains(err.Error()+out, tc.want) {
			t.Errorf("%v: exit %d, %v\n%s\nwant %q", tc.args, exitCode(err), err, out, tc.want)
		}
	}
}
