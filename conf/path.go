package conf

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// path locates a value in the document: table and key names, and 0-based
// array indices (int).
type path []any

func (p path) add(elems ...any) path {
	q := make(path, 0, len(p)+len(elems))
	return append(append(q, p...), elems...)
}

// key is the lineIndex form: "member.1.prefixes.2".
func (p path) key() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		switch e := e.(type) {
		case int:
			b.WriteString(strconv.Itoa(e))
		default:
			fmt.Fprint(&b, e)
		}
	}
	return b.String()
}

// within reports whether q is p or inside p.
func (p path) within(q string) bool {
	k := p.key()
	return k == q || strings.HasPrefix(k, q+".")
}

// display is the form shown to people: array indices count from 1, and
// members and groups carry their name: `member[2] (nhs-coastal).asn`.
func (p path) display(c *Config) string {
	var b strings.Builder
	for i, e := range p {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e+1)
			if i == 1 && c != nil {
				name := ""
				switch p[0] {
				case "member":
					if e < len(c.Members) {
						name = c.Members[e].Name
					}
				case "group":
					if e < len(c.Groups) {
						name = c.Groups[e].Name
					}
				case "bmp":
					if e < len(c.BMP) {
						name = c.BMP[e].Name
					}
				}
				if name != "" {
					fmt.Fprintf(&b, " (%s)", name)
				}
			}
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, e)
		}
	}
	return b.String()
}

// issues collects problems while a configuration is read and checked;
// paths are turned into lines and display names at the end.
type issues struct {
	list []pendingIssue
	// warns are warnings: the configuration loads with them.
	warns []pendingIssue
	// failed holds the keys whose values could not be decoded, so the
	// checks that follow do not report the zero value left there again.
	failed map[string]bool
}

type pendingIssue struct {
	p    path
	msg  string
	err  error
	file string // set for problems inside another file
	line int    // line in file
}

func (is *issues) add(p path, format string, args ...any) {
	if is.suppressed(p) {
		return
	}
	is.list = append(is.list, pendingIssue{p: p, msg: fmt.Sprintf(format, args...)})
}

func (is *issues) addErr(p path, err error, format string, args ...any) {
	if is.suppressed(p) {
		return
	}
	is.list = append(is.list, pendingIssue{p: p, msg: fmt.Sprintf(format, args...), err: err})
}

// addIn reports a problem on a line of another file named by the setting
// at p.
func (is *issues) addIn(p path, file string, line int, err error, format string, args ...any) {
	if is.suppressed(p) {
		return
	}
	is.list = append(is.list, pendingIssue{p: p, msg: fmt.Sprintf(format, args...), err: err, file: file, line: line})
}

// warn records a warning: something questionable that does not stop the
// configuration from loading.
func (is *issues) warn(p path, format string, args ...any) {
	is.warns = append(is.warns, pendingIssue{p: p, msg: fmt.Sprintf(format, args...)})
}

func (is *issues) fail(p path) {
	if is.failed == nil {
		is.failed = map[string]bool{}
	}
	is.failed[p.key()] = true
}

func (is *issues) suppressed(p path) bool {
	for k := range is.failed {
		if p.within(k) {
			return true
		}
	}
	return false
}

// comparePaths orders paths element by element, indices numerically.
func comparePaths(a, b path) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ai, aInt := a[i].(int)
		bi, bInt := b[i].(int)
		switch {
		case aInt && bInt:
			if ai != bi {
				return cmp.Compare(ai, bi)
			}
		default:
			if c := cmp.Compare(fmt.Sprint(a[i]), fmt.Sprint(b[i])); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}
