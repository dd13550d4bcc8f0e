package conf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// ParsePrefixList parses a member's prefix list file, in either of two
// forms:
//
//   - bgpq4 JSON, as `bgpq4 -j -l NAME AS-SET` writes it:
//     {"NAME": [{"prefix": "10.0.0.0/8", "exact": true},
//     {"prefix": "10.0.0.0/8", "exact": false, "greater-equal": 9, "less-equal": 24},
//     {"prefix": "10.0.0.0/8", "exact": false, "less-equal": 24}]}
//     (every list in the object is read);
//   - text: one "PREFIX [ge N] [le N]" per line; "#" starts a comment.
//
// name is used in errors, which are a *Error with one issue per bad line.
func ParsePrefixList(data []byte, name string) ([]PrefixRange, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return parseBGPQ4(data, name)
	}
	var out []PrefixRange
	var errs []Issue
	for i, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		r, err := ParsePrefixRange(line)
		if err == nil && r.Shared {
			err = errors.New(`"shared" belongs in a member's prefixes, not in a prefix list`)
		}
		if err != nil {
			errs = append(errs, Issue{File: name, Line: i + 1, Msg: err.Error()})
			continue
		}
		out = append(out, r)
	}
	if errs != nil {
		return nil, &Error{Issues: errs}
	}
	return out, nil
}

type bgpq4Entry struct {
	Prefix *string `json:"prefix"`
	Exact  *bool   `json:"exact"`
	GE     *int    `json:"greater-equal"`
	LE     *int    `json:"less-equal"`
}

func parseBGPQ4(data []byte, name string) ([]PrefixRange, error) {
	var out []PrefixRange
	var errs []Issue
	fail := func(off int64, format string, args ...any) {
		errs = append(errs, Issue{File: name, Line: lineAt(data, off), Msg: fmt.Sprintf(format, args...)})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	syntax := func(err error) ([]PrefixRange, error) {
		off := dec.InputOffset()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		errs = append(errs, Issue{File: name, Line: lineAt(data, off), Msg: "invalid bgpq4 JSON: " + err.Error(), Err: err})
		return nil, &Error{Issues: errs}
	}
	expect := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); !ok || d != want {
			return fmt.Errorf("want %q, found %v", want, tok)
		}
		return nil
	}
	if err := expect('{'); err != nil {
		return syntax(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		listName, _ := tok.(string)
		if err := expect('['); err != nil {
			return syntax(fmt.Errorf("list %q: %w (bgpq4 -j writes {\"NAME\": [ ... ]})", listName, err))
		}
		for dec.More() {
			off := dec.InputOffset()
			var rawEntry json.RawMessage
			if err := dec.Decode(&rawEntry); err != nil {
				return syntax(err)
			}
			var e bgpq4Entry
			if err := json.Unmarshal(rawEntry, &e); err != nil {
				if t := bytes.TrimSpace(rawEntry); len(t) > 0 && t[0] >= '0' && t[0] <= '9' {
					fail(off, "list %q holds AS numbers, not prefixes: generate it with bgpq4 -j -l NAME (without -f or -t)", listName)
					return nil, &Error{Issues: errs}
				}
				fail(off, "entry %s: want {\"prefix\": ..., \"exact\": ...}", bytes.TrimSpace(rawEntry))
				continue
			}
			if e.Prefix == nil {
				fail(off, "entry %s has no \"prefix\"", bytes.TrimSpace(rawEntry))
				continue
			}
			text := *e.Prefix
			exact := e.Exact == nil || *e.Exact
			if !exact && e.GE == nil && e.LE == nil {
				fail(off, "%s: \"exact\": false needs \"less-equal\" (and optionally \"greater-equal\")", *e.Prefix)
				continue
			}
			if !exact {
				if e.GE != nil {
					text += fmt.Sprintf(" ge %d", *e.GE)
				}
				if e.LE != nil {
					text += fmt.Sprintf(" le %d", *e.LE)
				}
			}
			r, err := ParsePrefixRange(text)
			if err != nil {
				fail(off, "%s", err)
				continue
			}
			out = append(out, r)
		}
		if err := expect(']'); err != nil {
			return syntax(err)
		}
	}
	if err := expect('}'); err != nil {
		return syntax(err)
	}
	if errs != nil {
		return nil, &Error{Issues: errs}
	}
	return out, nil
}

// lineAt is the 1-based line of the first significant byte at or after
// off (skipping the blanks and commas json.Decoder leaves before a value).
func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// ParseBogonList parses a bogon prefix file: one prefix per line, "#"
// starts a comment. name is used in errors (a *Error, one issue per bad
// line).
func ParseBogonList(data []byte, name string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []Issue
	for i, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := ParsePrefix(line)
		if err != nil {
			errs = append(errs, Issue{File: name, Line: i + 1, Msg: err.Error()})
			continue
		}
		out = append(out, p)
	}
	if errs != nil {
		return nil, &Error{Issues: errs}
	}
	return out, nil
}

func (c *Config) readPrefixList(is *issues, p path, f string) PrefixList {
	full := c.Path(f)
	data, err := os.ReadFile(full)
	if err != nil {
		is.addErr(p, err, "cannot read %s: %s", full, errText(err))
		return PrefixList{}
	}
	list, err := ParsePrefixList(data, full)
	if err != nil {
		addFileIssues(is, p, err)
		return PrefixList{}
	}
	return NewPrefixList(list)
}

func (c *Config) readBogonFile(is *issues, p path, f string) ([]netip.Prefix, error) {
	full := c.Path(f)
	data, err := os.ReadFile(full)
	if err != nil {
		is.addErr(p, err, "cannot read %s: %s", full, errText(err))
		return nil, err
	}
	list, err := ParseBogonList(data, full)
	if err != nil {
		addFileIssues(is, p, err)
		return nil, err
	}
	return list, nil
}

func addFileIssues(is *issues, p path, err error) {
	var e *Error
	if !errors.As(err, &e) {
		is.addErr(p, err, "%s", err)
		return
	}
	for _, it := range e.Issues {
		is.addIn(p, it.File, it.Line, it.Err, "%s", it.Msg)
	}
}
