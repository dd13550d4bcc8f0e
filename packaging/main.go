// Command packaging builds the fedrs Debian package and an RPM from the
// same description, with nfpm:
//
//	go run ./packaging build [--out DIR] [--version V] [--arch ARCH]
//
// It builds /usr/bin/fedrs (-trimpath, the version stamped), generates the
// manual pages and shell completions from the binary's command tree, and
// writes fedrs_VERSION_ARCH.deb and fedrs-VERSION.ARCH.rpm into DIR
// (default dist). The version comes from git describe (see gitVersion).
// It is its own command so that nfpm is never linked into fedrs.
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

const usage = "usage: go run ./packaging build [--out DIR] [--version V] [--arch ARCH] [--formats deb,rpm]"

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "build" {
		return usageError{errors.New(usage)}
	}
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "dist", "write the packages into `DIR`")
	version := fs.String("version", "", "package version (default: from git describe)")
	arch := fs.String("arch", runtime.GOARCH, "GOARCH to build for")
	formats := fs.String("formats", "deb,rpm", "package formats")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{fmt.Errorf("%v\n%s", err, usage)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), usage)}
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	b := &builder{root: root, arch: *arch, version: *version}
	if b.version == "" {
		if b.version, err = gitVersion(root); err != nil {
			return err
		}
	} else if !debVersion.MatchString(b.version) {
		return usageError{fmt.Errorf("--version %q: not a Debian upstream version (digits first, then letters, digits and . + ~)", b.version)}
	}
	b.mtime = sourceTime(root)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp("", "fedrs-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	b.stage = stage
	if err := b.prepare(); err != nil {
		return err
	}
	for _, f := range strings.Split(*formats, ",") {
		path, err := b.pack(strings.TrimSpace(f), *out)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, path)
	}
	return nil
}

// debVersion is what a Debian upstream version may look like.
var debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// repoRoot is the module's root: the directory holding go.mod, from the
// working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(data, []byte("module github.com/fedrs/fedrs\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the fedrs repository (no go.mod of github.com/fedrs/fedrs above the working directory)")
		}
		dir = parent
	}
}

// gitVersion turns git describe into a Debian-compatible version:
//
//	v1.2.3 (on the tag)              1.2.3
//	v1.2.3-4-gabcdef1 (after it)     1.2.3+git20261203.4.abcdef1
//	no tag                           0.0.0~git20261203.abcdef1
//
// with ".dirty" appended when the work tree has changes. The date is the
// commit's (UTC), so versions of later commits sort higher.
func gitVersion(root string) (string, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	rev, err := git("rev-parse", "--short=7", "HEAD")
	if err != nil {
		return "", fmt.Errorf("version from git (or give --version): %w", err)
	}
	when, err := git("show", "-s", "--format=%ct", "HEAD")
	if err != nil {
		return "", err
	}
	secs, _ := strconv.ParseInt(when, 10, 64)
	date := time.Unix(secs, 0).UTC().Format("20060102")
	dirty := ""
	if st, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
		dirty = ".dirty"
	}
	desc, err := git("describe", "--tags", "--long", "--match", "v[0-9]*")
	if err != nil {
		desc = "" // no tag
	}
	return describeVersion(desc, date, rev, dirty)
}

// describeVersion maps git describe --long output ("" when there is no
// tag) to the version; see gitVersion.
func describeVersion(desc, date, rev, dirty string) (string, error) {
	if desc == "" {
		return fmt.Sprintf("0.0.0~git%s.%s%s", date, rev, dirty), nil
	}
	m := describeRE.FindStringSubmatch(desc)
	if m == nil {
		return "", fmt.Errorf("git describe: %q is not vVERSION-N-gREV; give --version", desc)
	}
	tag := strings.ReplaceAll(m[1], "-", "~") // v1.0.0-rc1 sorts before 1.0.0
	if m[2] == "0" {
		return tag + dirty, nil
	}
	return fmt.Sprintf("%s+git%s.%s.%s%s", tag, date, m[2], rev, dirty), nil
}

var describeRE = regexp.MustCompile(`^v([0-9][A-Za-z0-9.+~-]*?)-([0-9]+)-g[0-9a-f]+$`)

// sourceTime is the commit time of HEAD (SOURCE_DATE_EPOCH when set), used
// for the files' times and the pages' dates, so two builds of one commit
// are the same.
func sourceTime(root string) time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	out, err := exec.Command("git", "-C", root, "show", "-s", "--format=%ct", "HEAD").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}

type builder struct {
	root, stage, arch, version string
	mtime                      time.Time
	contents                   files.Contents
}

const (
	name        = "fedrs"
	maintainer  = "fedrs maintainers <fedrs@example.org>"
	homepage    = "https://github.com/fedrs/fedrs"
	docDir      = "/usr/share/doc/fedrs"
	summary     = "BGP route server and routing-policy engine for federations and IXPs"
	description = summary + "\n" +
		"fedrs joins the networks of a federation (hospital trusts, councils,\n" +
		"public-sector networks) or an Internet Exchange through one route server\n" +
		"that decides, route by route, what each member may see, stops leaks and\n" +
		"hijacks (RPKI, ASPA, an ownership registry) and records every routing\n" +
		"event in an audit history."
)

func (b *builder) add(src, dst, typ string, mode os.FileMode) {
	b.contents = append(b.contents, &files.Content{
		Source: src, Destination: dst, Type: typ,
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: b.mtime},
	})
}

// write puts data in the staging directory and the package.
func (b *builder) write(rel string, data []byte, dst, typ string, mode os.FileMode) error {
	p := filepath.Join(b.stage, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	b.add(p, dst, typ, mode)
	return nil
}

// gz compresses as Debian wants: best compression, no name or time in the
// header (reproducible).
func gz(data []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

func (b *builder) prepare() error {
	bin := filepath.Join(b.stage, "fedrs")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+b.version, "-o", bin, "./cmd/fedrs")
	build.Dir = b.root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+b.arch)
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/fedrs: %v\n%s", err, out)
	}
	b.add(bin, "/usr/bin/fedrs", files.TypeFile, 0o755)

	// What the binary generates from its own command tree. A binary for
	// another architecture cannot run here: build one for this machine.
	host := bin
	if b.arch != runtime.GOARCH {
		host = filepath.Join(b.stage, "fedrs-host")
		hb := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-X main.version="+b.version, "-o", host, "./cmd/fedrs")
		hb.Dir = b.root
		if out, err := hb.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/fedrs (for this machine): %v\n%s", err, out)
		}
	}
	manDir := filepath.Join(b.stage, "man")
	gen := exec.Command(host, "man", "-o", manDir)
	gen.Env = append(os.Environ(), fmt.Sprintf("SOURCE_DATE_EPOCH=%d", b.mtime.Unix()))
	if out, err := gen.CombinedOutput(); err != nil {
		return fmt.Errorf("fedrs man: %v\n%s", err, out)
	}
	pages, err := os.ReadDir(manDir)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range pages {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(manDir, n))
		if err != nil {
			return err
		}
		section := n[strings.LastIndexByte(n, '.')+1:]
		if err := b.write("gz/"+n+".gz", gz(data), "/usr/share/man/man"+section+"/"+n+".gz", files.TypeFile, 0o644); err != nil {
			return err
		}
	}
	for shell, dst := range map[string]string{
		"bash": "/usr/share/bash-completion/completions/fedrs",
		"zsh":  "/usr/share/zsh/vendor-completions/_fedrs",
	} {
		out, err := exec.Command(host, "completion", shell).Output()
		if err != nil {
			return fmt.Errorf("fedrs completion %s: %v", shell, err)
		}
		if err := b.write("completion/"+shell, out, dst, files.TypeFile, 0o644); err != nil {
			return err
		}
	}

	// Configuration, unit, documentation.
	b.add(filepath.Join(b.root, "packaging/fedrs.toml"), "/etc/fedrs/fedrs.toml", files.TypeConfigNoReplace, 0o644)
	b.add(filepath.Join(b.root, "packaging/fedrs.service"), "/lib/systemd/system/fedrs.service", files.TypeFile, 0o644)
	b.add(filepath.Join(b.root, "README.md"), docDir+"/README.md", files.TypeFile, 0o644)
	b.add(filepath.Join(b.root, "conf/example.toml"), docDir+"/examples/example.toml", files.TypeFile, 0o644)
	b.add(filepath.Join(b.root, "packaging/fedrs.toml"), docDir+"/examples/fedrs.toml", files.TypeFile, 0o644)
	b.add(filepath.Join(b.root, "packaging/lintian-overrides"), "/usr/share/lintian/overrides/fedrs", files.TypeFile, 0o644)
	changelog, err := os.ReadFile(filepath.Join(b.root, "CHANGELOG.md"))
	if err != nil {
		return err
	}
	if err := b.write("doc/changelog.gz", gz(changelog), docDir+"/changelog.gz", files.TypeFile, 0o644); err != nil {
		return err
	}
	if err := b.write("doc/changelog.Debian.gz", gz([]byte(debianChangelog(b.version, b.mtime))), docDir+"/changelog.Debian.gz", files.TypeFile, 0o644); err != nil {
		return err
	}
	if err := b.write("doc/copyright", []byte(copyright(b.mtime)), docDir+"/copyright", files.TypeFile, 0o644); err != nil {
		return err
	}
	b.contents = append(b.contents, &files.Content{
		Source: filepath.Join(b.root, "LICENSE"), Destination: "/usr/share/licenses/fedrs/LICENSE",
		Type: files.TypeRPMLicense, Packager: "rpm",
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o644, MTime: b.mtime},
	})
	b.contents = append(b.contents, &files.Content{
		Destination: "/etc/fedrs", Type: files.TypeDir,
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755, MTime: b.mtime},
	})
	return nil
}

// debianChangelog is the package's own changelog (debian/changelog form);
// the project's changes are in changelog.gz.
func debianChangelog(version string, t time.Time) string {
	return fmt.Sprintf("%s (%s-1) unstable; urgency=medium\n\n"+
		"  * Package built from the fedrs repository (go run ./packaging build).\n"+
		"    The changes of fedrs itself are in /usr/share/doc/fedrs/changelog.gz.\n\n"+
		" -- %s  %s\n", name, version, maintainer, t.Format(time.RFC1123Z))
}

// copyright is the machine-readable (DEP-5) copyright file. The licence is
// the Apache License 2.0, whose text Debian ships in common-licenses
// (lintian refuses a copy of it here); the RPM carries LICENSE itself.
func copyright(t time.Time) string {
	return "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n" +
		"Upstream-Name: fedrs\nSource: " + homepage + "\n\n" +
		fmt.Sprintf("Files: *\nCopyright: %d fedrs contributors\nLicense: Apache-2.0\n\n", t.Year()) +
		"License: Apache-2.0\n" +
		" Licensed under the Apache License, Version 2.0 (the \"License\");\n" +
		" you may not use this file except in compliance with the License.\n" +
		" You may obtain a copy of the License at\n" +
		" .\n" +
		"     http://www.apache.org/licenses/LICENSE-2.0\n" +
		" .\n" +
		" Unless required by applicable law or agreed to in writing, software\n" +
		" distributed under the License is distributed on an \"AS IS\" BASIS,\n" +
		" WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.\n" +
		" See the License for the specific language governing permissions and\n" +
		" limitations under the License.\n" +
		" .\n" +
		" On Debian systems, the full text of the Apache License, Version 2.0\n" +
		" can be found in the file /usr/share/common-licenses/Apache-2.0.\n"
}

func (b *builder) pack(format, out string) (string, error) {
	cfg := nfpm.Config{
		Info: nfpm.Info{
			Name:          name,
			Arch:          b.arch,
			Platform:      "linux",
			Version:       b.version,
			VersionSchema: "none",
			Release:       "1",
			Section:       "net",
			Priority:      "optional",
			Maintainer:    maintainer,
			Description:   description,
			Vendor:        "fedrs",
			Homepage:      homepage,
			License:       "Apache-2.0",
			MTime:         b.mtime,
			Overridables: nfpm.Overridables{
				Contents: b.contents,
				Umask:    0o022,
				Depends:  []string{"passwd"},
				Scripts: nfpm.Scripts{
					PostInstall: b.script("postinst", debPostinst),
					PreRemove:   b.script("prerm", debPrerm),
					PostRemove:  b.script("postrm", debPostrm),
				},
				RPM: nfpm.RPM{Summary: summary, Group: "System Environment/Daemons"},
			},
		},
		Overrides: map[string]*nfpm.Overridables{
			"rpm": {
				Depends: []string{"shadow-utils"},
				Scripts: nfpm.Scripts{
					PostInstall: b.script("rpm-post", rpmPost),
					PreRemove:   b.script("rpm-preun", rpmPreun),
					PostRemove:  b.script("rpm-postun", "#!/bin/sh\nexit 0\n"),
				},
			},
		},
	}
	info, err := cfg.Get(format)
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", fmt.Errorf("%s: %w", format, err)
	}
	pkg, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	path := filepath.Join(out, pkg.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("%s: %w", format, err)
	}
	return path, f.Close()
}

// script writes a maintainer script into the staging directory.
func (b *builder) script(name, body string) string {
	p := filepath.Join(b.stage, "scripts", name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte(body), 0o755)
	return p
}
