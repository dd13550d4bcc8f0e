package conf

import (
	"strconv"
	"strings"
)

// Issue is one problem found in a configuration.
type Issue struct {
	// File is the file the problem is in: the configuration, or a file it
	// names (a prefix list, a bogon list). "" for a Config built in code.
	File string
	// Line is the 1-based line in File, 0 when unknown. Column is set for
	// TOML syntax errors only.
	Line   int
	Column int
	// Field names the setting, e.g. `member[2] (nhs-coastal).asn`. Array
	// elements count from 1, as a person reading the file counts them.
	Field string
	// Msg says what is wrong and what a valid value looks like.
	Msg string
	// Err is the underlying error, if there is one (a TOML syntax error,
	// an I/O error).
	Err error
}

// String formats the issue as "file:line: field: message", leaving out
// the parts that are not known.
func (i Issue) String() string {
	var b strings.Builder
	b.WriteString(i.File)
	if i.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(i.Line))
		if i.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(i.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if i.Field != "" {
		b.WriteString(i.Field)
		b.WriteString(": ")
	}
	b.WriteString(i.Msg)
	return b.String()
}

// Error is every problem found in one configuration. Load, Parse and
// Validate return it; its Error method prints one issue per line.
type Error struct {
	Issues []Issue
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		lines[i] = is.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the underlying errors of the issues that have one, so
// errors.Is and errors.As see, for example, an fs.ErrNotExist.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, is := range e.Issues {
		if is.Err != nil {
			errs = append(errs, is.Err)
		}
	}
	return errs
}
