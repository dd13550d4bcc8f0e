package conf

import (
	"strconv"
	"strings"
)

// lineIndex maps the dotted path of every table, key and array element of
// a TOML document to the line it starts on. Arrays of tables and array
// elements are numbered from 0: the second [[member]]'s asn is
// "member.1.asn", the third entry of its prefixes is "member.1.prefixes.2".
//
// BurntSushi/toml does not expose key positions, so this is a small
// scanner that only tracks structure. It runs on text the TOML parser has
// already accepted, so it does not need to diagnose anything; on text it
// does not understand it stops, and lookups fall back to the nearest
// enclosing table it did see.
type lineIndex struct {
	lines map[string]int
}

// line returns the line of the path, or of its nearest recorded parent,
// or 0.
func (x *lineIndex) line(key string) int {
	if x == nil {
		return 0
	}
	for {
		if n, ok := x.lines[key]; ok {
			return n
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
}

func buildLineIndex(src string) *lineIndex {
	s := &scanner{src: src, line: 1, idx: &lineIndex{lines: map[string]int{}}, arrays: map[string]int{}}
	s.document()
	return s.idx
}

type scanner struct {
	src    string
	pos    int
	line   int
	idx    *lineIndex
	arrays map[string]int // resolved path of an array of tables → elements seen
	table  []string       // path of the current table
}

func (s *scanner) record(path []string, line int) {
	k := strings.Join(path, ".")
	if _, ok := s.idx.lines[k]; !ok {
		s.idx.lines[k] = line
	}
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *scanner) advance() {
	if s.src[s.pos] == '\n' {
		s.line++
	}
	s.pos++
}

// skipSpace skips blanks and, when newlines is set, newlines and comments.
func (s *scanner) skipSpace(newlines bool) {
	for !s.eof() {
		c := s.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			s.pos++
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.pos++
			}
		case c == '\n' && newlines:
			s.advance()
		default:
			return
		}
	}
}

func (s *scanner) document() {
	for {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		start := s.pos
		if s.peek() == '[' {
			s.header()
		} else {
			s.keyValue(s.table)
		}
		if s.pos == start { // not understood: give up, keep what we have
			return
		}
	}
}

func (s *scanner) header() {
	line := s.line
	s.pos++
	array := s.peek() == '['
	if array {
		s.pos++
	}
	parts := s.key()
	for !s.eof() && s.peek() == ']' {
		s.pos++
	}
	var resolved []string
	for i, p := range parts {
		resolved = append(resolved, p)
		last := i == len(parts)-1
		if n, ok := s.arrays[strings.Join(resolved, ".")]; ok && !(array && last) {
			resolved = append(resolved, strconv.Itoa(n-1))
		}
		if !last {
			s.record(resolved, line)
		}
	}
	if array {
		k := strings.Join(resolved, ".")
		n := s.arrays[k]
		s.arrays[k] = n + 1
		s.record(resolved, line)
		resolved = append(resolved, strconv.Itoa(n))
	}
	s.record(resolved, line)
	s.table = resolved
}

// key reads a dotted key: bare or quoted parts separated by dots.
func (s *scanner) key() []string {
	var parts []string
	for {
		s.skipSpace(false)
		if s.eof() {
			return parts
		}
		switch c := s.peek(); {
		case c == '"':
			parts = append(parts, s.basicString())
		case c == '\'':
			parts = append(parts, s.literalString())
		default:
			start := s.pos
			for !s.eof() && isBareKeyChar(s.peek()) {
				s.pos++
			}
			if s.pos == start {
				return parts
			}
			parts = append(parts, s.src[start:s.pos])
		}
		s.skipSpace(false)
		if s.peek() != '.' {
			return parts
		}
		s.pos++
	}
}

func isBareKeyChar(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (s *scanner) keyValue(table []string) {
	line := s.line
	parts := s.key()
	if len(parts) == 0 {
		return
	}
	path := append(append([]string(nil), table...), parts...)
	for i := len(table) + 1; i <= len(path); i++ {
		s.record(path[:i], line)
	}
	s.skipSpace(false)
	if s.peek() != '=' {
		return
	}
	s.pos++
	s.skipSpace(false)
	s.value(path)
}

func (s *scanner) value(path []string) {
	if s.eof() {
		return
	}
	switch c := s.peek(); c {
	case '"':
		s.basicString()
	case '\'':
		s.literalString()
	case '[':
		s.array(path)
	case '{':
		s.inlineTable(path)
	default:
		for !s.eof() {
			c := s.peek()
			if c == ',' || c == ']' || c == '}' || c == '#' || c == '\n' {
				return
			}
			s.pos++
		}
	}
}

func (s *scanner) array(path []string) {
	s.pos++ // [
	for i := 0; ; i++ {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		if s.peek() == ']' {
			s.pos++
			return
		}
		elem := append(append([]string(nil), path...), strconv.Itoa(i))
		s.record(elem, s.line)
		start := s.pos
		s.value(elem)
		s.skipSpace(true)
		if s.peek() == ',' {
			s.pos++
			continue
		}
		if s.peek() == ']' {
			s.pos++
			return
		}
		if s.pos == start {
			return
		}
	}
}

func (s *scanner) inlineTable(path []string) {
	s.pos++ // {
	for {
		s.skipSpace(false)
		if s.eof() {
			return
		}
		switch s.peek() {
		case '}':
			s.pos++
			return
		case ',':
			s.pos++
			continue
		}
		start := s.pos
		s.keyValue(path)
		if s.pos == start {
			return
		}
	}
}

// basicString reads "…" or """…""" and returns its (unescaped enough)
// content; only keys use the result.
func (s *scanner) basicString() string {
	if strings.HasPrefix(s.src[s.pos:], `"""`) {
		s.pos += 3
		for !s.eof() {
			if s.peek() == '\\' {
				s.advance()
				if !s.eof() {
					s.advance()
				}
				continue
			}
			if strings.HasPrefix(s.src[s.pos:], `"""`) {
				s.pos += 3
				for s.peek() == '"' { // up to two quotes may end the content
					s.pos++
				}
				return ""
			}
			s.advance()
		}
		return ""
	}
	s.pos++
	var b strings.Builder
	for !s.eof() {
		c := s.peek()
		if c == '"' {
			s.pos++
			break
		}
		if c == '\n' {
			break
		}
		if c == '\\' && s.pos+1 < len(s.src) {
			s.pos++
			c = s.peek()
		}
		b.WriteByte(c)
		s.pos++
	}
	return b.String()
}

func (s *scanner) literalString() string {
	if strings.HasPrefix(s.src[s.pos:], `'''`) {
		s.pos += 3
		for !s.eof() {
			if strings.HasPrefix(s.src[s.pos:], `'''`) {
				s.pos += 3
				for s.peek() == '\'' {
					s.pos++
				}
				return ""
			}
			s.advance()
		}
		return ""
	}
	s.pos++
	start := s.pos
	for !s.eof() && s.peek() != '\'' && s.peek() != '\n' {
		s.pos++
	}
	v := s.src[start:s.pos]
	if s.peek() == '\'' {
		s.pos++
	}
	return v
}
