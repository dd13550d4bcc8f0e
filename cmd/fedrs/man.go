package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/conf"

	"github.com/urfave/cli/v2"
)

// manCommand writes the manual pages: fedrs(1), one fedrs-CMD(1) per
// top-level command (its subcommands are sections of it) and fedrs.toml(5)
// from the configuration reference. Hidden: the package builder runs it.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Hidden: true,
		Usage:  "write the manual pages (fedrs.1, fedrs-CMD.1, fedrs.toml.5) into a directory",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: ".", Usage: "write the pages into `DIR`"},
		},
		Action: func(c *cli.Context) error {
			pages := manPages(c.App, manDate())
			out := c.String("out")
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("fedrs man: --out %s: %w", out, err)
			}
			for _, name := range slices.Sorted(mapKeys(pages)) {
				if err := os.WriteFile(filepath.Join(out, name), []byte(pages[name]), 0o644); err != nil {
					return fmt.Errorf("fedrs man: --out %s: %w", out, err)
				}
			}
			return nil
		},
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// manDate is the pages' date: SOURCE_DATE_EPOCH when set (reproducible
// builds), otherwise today.
func manDate() string {
	t := time.Now().UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			t = time.Unix(n, 0).UTC()
		}
	}
	return t.Format("2006-01-02")
}

// manPages renders every page, by file name.
func manPages(app *cli.App, date string) map[string]string {
	v := readBuildInfo().Version
	pages := map[string]string{}
	var see []string
	for _, c := range app.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		see = append(see, "fedrs-"+c.Name)
	}
	// fedrs(1).
	var b strings.Builder
	th(&b, "FEDRS", "1", date, v)
	sh(&b, "NAME")
	fmt.Fprintf(&b, "fedrs \\- %s\n", roffText(app.Usage))
	sh(&b, "SYNOPSIS")
	b.WriteString(".B fedrs\n.I COMMAND\n.RI [ OPTIONS ]\n")
	sh(&b, "DESCRIPTION")
	paragraphs(&b, app.Description)
	sh(&b, "COMMANDS")
	for _, c := range app.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		fmt.Fprintf(&b, ".TP\n.BR fedrs\\-%s (1)\n%s\n", roffText(c.Name), roffText(c.Usage))
	}
	sh(&b, "OPTIONS")
	flags(&b, app.Flags)
	examplesSection(&b, "")
	sh(&b, "CONFIGURATION")
	paragraphs(&b, configRule+"\n\n"+socketRule)
	sh(&b, "FILES")
	b.WriteString(".TP\n.I /etc/fedrs/fedrs.toml\nThe configuration; see\n.BR fedrs.toml (5).\n")
	b.WriteString(".TP\n.I /var/lib/fedrs\nState: the history database.\n")
	b.WriteString(".TP\n.I /run/fedrs/fedrs.sock\nThe control socket.\n")
	seeAlso(&b, append(slices.Clone(see), "fedrs.toml(5)"), "")
	pages["fedrs.1"] = b.String()

	// One page per top-level command.
	for _, c := range app.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		var b strings.Builder
		upper := strings.ToUpper("fedrs-" + c.Name)
		th(&b, upper, "1", date, v)
		sh(&b, "NAME")
		fmt.Fprintf(&b, "fedrs\\-%s \\- %s\n", roffText(c.Name), roffText(c.Usage))
		sh(&b, "SYNOPSIS")
		commandSynopsis(&b, c.Name, c)
		if c.Description != "" {
			sh(&b, "DESCRIPTION")
			paragraphs(&b, c.Description)
		}
		if len(visibleFlags(c.Flags)) > 0 {
			sh(&b, "OPTIONS")
			flags(&b, c.Flags)
		}
		for _, s := range c.Subcommands {
			if s.Hidden {
				continue
			}
			path := c.Name + " " + s.Name
			sh(&b, strings.ToUpper(path))
			commandSynopsis(&b, path, s)
			paragraphs(&b, s.Usage)
			if s.Description != "" {
				paragraphs(&b, s.Description)
			}
			flags(&b, s.Flags)
			if ex := examples[path]; ex != "" {
				b.WriteString(".PP\nExample:\n")
				example(&b, ex)
			}
		}
		examplesSection(&b, c.Name)
		var rules []string
		if hasFlag(c, "config") || slices.ContainsFunc(c.Subcommands, func(s *cli.Command) bool { return hasFlag(s, "config") }) {
			rules = append(rules, configRule)
		}
		if hasFlag(c, "socket") || slices.ContainsFunc(c.Subcommands, func(s *cli.Command) bool { return hasFlag(s, "socket") }) {
			rules = append(rules, socketRule)
		}
		if len(rules) > 0 {
			sh(&b, "CONFIGURATION")
			paragraphs(&b, strings.Join(rules, "\n\n"))
		}
		sh(&b, "EXIT STATUS")
		b.WriteString("0 on success, 2 for a usage error (the command line or a value in it is wrong), 1 for any other failure.\n")
		seeAlso(&b, []string{"fedrs(1)", "fedrs.toml(5)"}, "")
		pages["fedrs-"+c.Name+".1"] = b.String()
	}
	pages["fedrs.toml.5"] = markdownMan(conf.Reference, date, v)
	return pages
}

func th(b *strings.Builder, name, section, date, version string) {
	fmt.Fprintf(b, ".TH %q %s %q %q %q\n", name, section, date, "fedrs "+version, "fedrs manual")
}

func sh(b *strings.Builder, title string) { fmt.Fprintf(b, ".SH %q\n", title) }

func commandSynopsis(b *strings.Builder, path string, c *cli.Command) {
	fmt.Fprintf(b, ".B fedrs %s\n", roffText(path))
	if len(c.Subcommands) > 0 {
		b.WriteString(".I SUBCOMMAND\n")
	}
	if len(visibleFlags(c.Flags)) > 0 {
		b.WriteString(".RI [ OPTIONS ]\n")
	}
	if a := strings.TrimSpace(c.ArgsUsage); a != "" {
		fmt.Fprintf(b, ".I %s\n", roffText(a))
	}
	b.WriteString(".br\n")
}

func visibleFlags(fs []cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, f := range fs {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		out = append(out, f)
	}
	return out
}

func flags(b *strings.Builder, fs []cli.Flag) {
	for _, f := range visibleFlags(fs) {
		var names []string
		for _, n := range f.Names() {
			dash := "\\-\\-"
			if len(n) == 1 {
				dash = "\\-"
			}
			names = append(names, "\\fB"+dash+roffText(n)+"\\fR")
		}
		usage, value := "", ""
		if d, ok := f.(cli.DocGenerationFlag); ok {
			usage = d.GetUsage()
			if d.TakesValue() {
				value = "VALUE"
				if name, u := unquoteUsage(usage); name != "" {
					value, usage = name, u
				}
			}
			if def := d.GetDefaultText(); def != "" && !(def == "false" && !d.TakesValue()) {
				usage += " (default: " + def + ")"
			} else if dv := d.GetValue(); d.TakesValue() && dv != "" {
				usage += " (default: " + dv + ")"
			}
			if env := d.GetEnvVars(); len(env) > 0 {
				usage += " [$" + strings.Join(env, ", $") + "]"
			}
		}
		tag := strings.Join(names, ", ")
		if value != "" {
			tag += " \\fI" + roffText(value) + "\\fR"
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", tag, roffText(usage))
	}
}

func examplesSection(b *strings.Builder, path string) {
	if ex := examples[path]; ex != "" {
		sh(b, "EXAMPLES")
		example(b, ex)
	}
}

func example(b *strings.Builder, ex string) {
	b.WriteString(".PP\n.nf\n.RS 4\n")
	for _, l := range strings.Split(ex, "\n") {
		b.WriteString(roffLine(roffText(l)) + "\n")
	}
	b.WriteString(".RE\n.fi\n")
}

func paragraphs(b *strings.Builder, text string) {
	for _, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		b.WriteString(".PP\n")
		for _, l := range strings.Split(p, "\n") {
			b.WriteString(roffLine(roffText(strings.TrimSpace(l))) + "\n")
		}
	}
}

func seeAlso(b *strings.Builder, refs []string, _ string) {
	sh(b, "SEE ALSO")
	for i, r := range refs {
		name, sec, _ := strings.Cut(strings.TrimSuffix(r, ")"), "(")
		sep := ","
		if i == len(refs)-1 {
			sep = ""
		}
		fmt.Fprintf(b, ".BR %s (%s)%s\n", roffText(name), sec, sep)
	}
}

// roffText escapes text for roff: backslashes, hyphens, and characters
// outside ASCII as groff's \[uXXXX] (troff reads bytes, not UTF-8).
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, `\[u%04X]`, r)
	}
	return b.String()
}

// roffLine protects a line that would start with a control character.
func roffLine(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		return `\&` + s
	}
	return s
}

var (
	mdCode   = regexp.MustCompile("`([^`]*)`")
	mdBold   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	mdItalic = regexp.MustCompile(`(^|[\s(])\*([^*\s][^*]*)\*`)
	mdLink   = regexp.MustCompile(`\[([^\]]+)\]\([^)]*\)`)
)

// mdInline renders Markdown's inline marks: code and bold in bold,
// emphasis in italics, links as their text.
func mdInline(s string) string {
	s = mdLink.ReplaceAllString(s, "$1")
	s = roffText(s)
	s = mdCode.ReplaceAllString(s, `\fB$1\fR`)
	s = mdBold.ReplaceAllString(s, `\fB$1\fR`)
	s = mdItalic.ReplaceAllString(s, `$1\fI$2\fR`)
	return s
}

// markdownMan renders the configuration reference (conf/README.md) as
// fedrs.toml(5): headings become sections, tables tagged paragraphs (the
// key, then type, default and meaning), code blocks literal text.
func markdownMan(md, date, version string) string {
	var b strings.Builder
	th(&b, "FEDRS.TOML", "5", date, version)
	sh(&b, "NAME")
	b.WriteString("fedrs.toml \\- configuration of the fedrs route server\n")
	sh(&b, "SYNOPSIS")
	b.WriteString(".I /etc/fedrs/fedrs.toml\n")
	lines := strings.Split(md, "\n")
	var header []string
	inCode := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "```"):
			if inCode {
				b.WriteString(".fi\n.RE\n")
			} else {
				b.WriteString(".PP\n.RS 4\n.nf\n")
			}
			inCode = !inCode
		case inCode:
			b.WriteString(roffLine(roffText(l)) + "\n")
		case strings.HasPrefix(t, "#"):
			level := len(t) - len(strings.TrimLeft(t, "#"))
			title := strings.TrimSpace(strings.TrimLeft(t, "#"))
			title = strings.ReplaceAll(title, "`", "")
			title = mdLink.ReplaceAllString(title, "$1")
			if level <= 2 {
				if strings.EqualFold(title, "configuration") {
					title = "DESCRIPTION"
				}
				fmt.Fprintf(&b, ".SH %q\n", strings.ToUpper(roffText(title)))
			} else {
				fmt.Fprintf(&b, ".SS %q\n", roffText(title))
			}
			header = nil
		case strings.HasPrefix(t, "|"):
			cells := strings.Split(strings.Trim(t, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			if strings.Trim(strings.Join(cells, ""), "-: ") == "" {
				continue // the separator row
			}
			if header == nil {
				header = cells
				continue
			}
			fmt.Fprintf(&b, ".TP\n%s\n", roffLine(mdInline(cells[0])))
			var rest []string
			for i := 1; i < len(cells); i++ {
				if i < len(header) && i < len(cells)-1 {
					rest = append(rest, mdInline(header[i])+": "+mdInline(cells[i])+".")
				} else {
					rest = append(rest, mdInline(cells[i]))
				}
			}
			b.WriteString(roffLine(strings.Join(rest, " ")) + "\n")
		case t == "":
			header = nil
			b.WriteString(".PP\n")
		case strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* "):
			fmt.Fprintf(&b, ".IP \\(bu 2\n%s\n", roffLine(mdInline(t[2:])))
		default:
			b.WriteString(roffLine(mdInline(t)) + "\n")
		}
	}
	if inCode {
		b.WriteString(".fi\n.RE\n")
	}
	sh(&b, "SEE ALSO")
	b.WriteString(".BR fedrs (1),\n.BR fedrs\\-check (1)\n")
	return b.String()
}

// unquoteUsage takes the `NAME` of a flag's value out of its usage text,
// as urfave/cli's help does.
func unquoteUsage(usage string) (string, string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name := usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+2+j:]
}
