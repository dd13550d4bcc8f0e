package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is set with -ldflags "-X main.version=..." (packaging);
// otherwise the build information gives it.
var version = ""

// buildInfo is what the binary knows about its build.
type buildInfo struct {
	Module, Version string
	// Revision, Time and Modified come from the VCS stamp of the build
	// (go build in a git checkout); empty when it was built without.
	Revision, Time string
	Modified       bool
	Go             string
}

func readBuildInfo() buildInfo { return fromBuildInfo(debug.ReadBuildInfo()) }

func fromBuildInfo(bi *debug.BuildInfo, ok bool) buildInfo {
	b := buildInfo{Module: "github.com/fedrs/fedrs", Version: version, Go: runtime.Version()}
	if !ok {
		return b
	}
	if bi.Main.Path != "" {
		b.Module = bi.Main.Path
	}
	if b.Version == "" {
		b.Version = bi.Main.Version
	}
	b.Go = bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if b.Version == "" || b.Version == "(devel)" {
		b.Version = "devel"
	}
	return b
}

// versionString is the one-line version the route server reports (control
// API status, BMP, history): "fedrs VERSION (REVISION) GO".
func versionString() string { return readBuildInfo().String() }

func (b buildInfo) String() string {
	v := "fedrs " + b.Version
	if b.Revision != "" {
		rev := b.Revision[:min(12, len(b.Revision))]
		if b.Modified {
			rev += ", modified"
		}
		v += " (" + rev + ")"
	}
	return v + " " + b.Go
}

func printVersion(c *cli.Context) error {
	writeVersion(c.App.Writer, readBuildInfo())
	return nil
}

// writeVersion prints the version, module, VCS revision (with its time and
// whether the tree was modified) and Go version, one per line.
func writeVersion(w io.Writer, b buildInfo) {
	fmt.Fprintf(w, "fedrs %s\n", b.Version)
	fmt.Fprintf(w, "module    %s\n", b.Module)
	switch {
	case b.Revision == "":
		fmt.Fprintln(w, "revision  unknown (built without VCS information)")
	default:
		rev := b.Revision
		if b.Time != "" {
			rev += " (" + b.Time
			if b.Modified {
				rev += ", modified"
			}
			rev += ")"
		} else if b.Modified {
			rev += " (modified)"
		}
		fmt.Fprintf(w, "revision  %s\n", rev)
	}
	fmt.Fprintf(w, "go        %s %s/%s\n", b.Go, runtime.GOOS, runtime.GOARCH)
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version: module version, VCS revision, Go version",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &exitError{2, fmt.Errorf("fedrs version: unexpected argument %q", c.Args().First())}
			}
			return printVersion(c)
		},
	}
}
