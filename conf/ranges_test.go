package conf

import (
	"net/netip"
	"testing"
)

func TestParsePrefixRange(t *testing.T) {
	cases := []struct {
		in      string
		want    string // String() of the result
		wantErr string
	}{
		{in: "10.1.0.0/16", want: "10.1.0.0/16"},
		{in: "  10.1.0.0/16   le 24 ", want: "10.1.0.0/16 le 24"},
		{in: "10.1.0.0/16 ge 20", want: "10.1.0.0/16 ge 20"},
		{in: "10.1.0.0/16 le 24 ge 20 shared", want: "10.1.0.0/16 ge 20 le 24 shared"},
		{in: "10.1.0.0/16 SHARED LE 24", want: "10.1.0.0/16 le 24 shared"},
		{in: "2001:db8:100::/40 le 48", want: "2001:db8:100::/40 le 48"},
		{in: "10.1.0.0/16 ge 16 le 16", want: "10.1.0.0/16 ge 16 le 16"},
		{in: "10.1.2.0/16", wantErr: "10.1.2.0/16 is not a canonical prefix (host bits are set); did you mean 10.1.0.0/16?"},
		{in: "2001:db8:1:2::/32", wantErr: "2001:db8:1:2::/32 is not a canonical prefix (host bits are set); did you mean 2001:db8::/32?"},
		{in: "10.1.0.0", wantErr: "10.1.0.0 has no prefix length; write e.g. 10.1.0.0/16"},
		{in: "192.0.2.1", wantErr: "192.0.2.1 has no prefix length; write e.g. 192.0.2.1/32"},
		{in: "10.1.0.0/33", wantErr: "10.1.0.0/33: /33 is longer than an IPv4 prefix can be (at most /32)"},
		{in: "nhs", wantErr: `"nhs" is not a prefix; write e.g. "10.1.0.0/16" or "2001:db8:100::/40"`},
		{in: "", wantErr: `empty prefix; write "PREFIX [ge N] [le N] [shared]", e.g. "10.1.0.0/16 le 24"`},
		{in: "10.1.0.0/16 le", wantErr: `"10.1.0.0/16 le": le needs a prefix length after it, e.g. le 24`},
		{in: "10.1.0.0/16 le x", wantErr: `"10.1.0.0/16 le x": le x is not a prefix length; use a number 16-32`},
		{in: "10.1.0.0/16 le 8", wantErr: `"10.1.0.0/16 le 8": le 8 is shorter than the prefix itself (/16); use 16-32`},
		{in: "10.1.0.0/16 ge 33", wantErr: `"10.1.0.0/16 ge 33": ge 33 is longer than an IPv4 prefix can be; use 16-32`},
		{in: "2001:db8::/32 le 129", wantErr: `"2001:db8::/32 le 129": le 129 is longer than an IPv6 prefix can be; use 32-128`},
		{in: "10.1.0.0/16 ge 24 le 20", wantErr: `"10.1.0.0/16 ge 24 le 20": le 20 is less than ge 24; nothing would match`},
		{in: "10.1.0.0/16 le 24 le 28", wantErr: `"10.1.0.0/16 le 24 le 28": le is given twice`},
		{in: "10.1.0.0/16 upto 24", wantErr: `"10.1.0.0/16 upto 24": unexpected "upto"; write "PREFIX [ge N] [le N] [shared]", e.g. "10.1.0.0/16 le 24"`},
	}
	for _, c := range cases {
		r, err := ParsePrefixRange(c.in)
		switch {
		case c.wantErr != "":
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("ParsePrefixRange(%q) error:\n got %v\nwant %s", c.in, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("ParsePrefixRange(%q): %v", c.in, err)
		case r.String() != c.want:
			t.Errorf("ParsePrefixRange(%q) = %q, want %q", c.in, r, c.want)
		default:
			// Round trip through the text form.
			var back PrefixRange
			text, _ := r.MarshalText()
			if err := back.UnmarshalText(text); err != nil || back != r {
				t.Errorf("round trip of %q: %v, %v", c.in, back, err)
			}
		}
	}
}

func TestPrefixRangeContains(t *testing.T) {
	cases := []struct {
		rng, p string
		want   bool
	}{
		// Neither ge nor le: the exact prefix only.
		{"10.1.0.0/16", "10.1.0.0/16", true},
		{"10.1.0.0/16", "10.1.1.0/24", false},
		{"10.1.0.0/16", "10.0.0.0/8", false},
		// le only: ge defaults to the prefix length.
		{"10.1.0.0/16 le 24", "10.1.0.0/16", true},
		{"10.1.0.0/16 le 24", "10.1.200.0/24", true},
		{"10.1.0.0/16 le 24", "10.1.200.128/25", false},
		{"10.1.0.0/16 le 24", "10.2.0.0/24", false},
		{"10.1.0.0/16 le 24", "10.0.0.0/15", false},
		// ge only: le defaults to the family maximum.
		{"10.1.0.0/16 ge 24", "10.1.0.0/16", false},
		{"10.1.0.0/16 ge 24", "10.1.2.0/24", true},
		{"10.1.0.0/16 ge 24", "10.1.2.3/32", true},
		{"2001:db8::/32 ge 48", "2001:db8:1::1/128", true},
		{"2001:db8::/32 ge 48", "2001:db8::/40", false},
		// Both.
		{"10.1.0.0/16 ge 20 le 24", "10.1.16.0/20", true},
		{"10.1.0.0/16 ge 20 le 24", "10.1.16.0/19", false},
		{"10.1.0.0/16 ge 20 le 24", "10.1.16.0/25", false},
		// Families never mix, shared changes nothing.
		{"10.1.0.0/16 le 32", "::/0", false},
		{"::/0 le 128", "10.1.0.0/16", false},
		{"10.99.10.0/24 shared", "10.99.10.0/24", true},
	}
	for _, c := range cases {
		r, err := ParsePrefixRange(c.rng)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Contains(netip.MustParsePrefix(c.p)); got != c.want {
			t.Errorf("%q contains %s = %v, want %v", c.rng, c.p, got, c.want)
		}
	}
	if (PrefixRange{}).Contains(netip.MustParsePrefix("10.0.0.0/8")) {
		t.Error("zero PrefixRange contains something")
	}
}

func TestParseASNRange(t *testing.T) {
	cases := []struct {
		in      string
		want    ASNRange
		wantErr string
	}{
		{in: "65000", want: ASNRange{65000, 65000}},
		{in: "AS65000", want: ASNRange{65000, 65000}},
		{in: "as4200000001", want: ASNRange{4200000001, 4200000001}},
		{in: "64512-65534", want: ASNRange{64512, 65534}},
		{in: "AS64512 - AS65534", want: ASNRange{64512, 65534}},
		{in: "0", want: ASNRange{0, 0}},
		{in: "4294967295", want: ASNRange{4294967295, 4294967295}},
		{in: "4294967296", wantErr: `"4294967296": 4294967296 is out of range; AS numbers are 0-4294967295`},
		{in: "65534-64512", wantErr: `"65534-64512" is backwards; write 64512-65534`},
		{in: "AS", wantErr: `"AS": not an AS number; write an AS number or range, e.g. 64512, "AS64512" or "64512-65534"`},
		{in: "-5", wantErr: `"-5": not an AS number; write an AS number or range, e.g. 64512, "AS64512" or "64512-65534"`},
		{in: "1.10", wantErr: `"1.10": not an AS number; write an AS number or range, e.g. 64512, "AS64512" or "64512-65534"`},
		{in: " ", wantErr: `empty AS number; write an AS number or range, e.g. 64512, "AS64512" or "64512-65534"`},
	}
	for _, c := range cases {
		got, err := ParseASNRange(c.in)
		switch {
		case c.wantErr != "":
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("ParseASNRange(%q) error:\n got %v\nwant %s", c.in, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("ParseASNRange(%q): %v", c.in, err)
		case got != c.want:
			t.Errorf("ParseASNRange(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	r := ASNRange{64512, 65534}
	for asn, want := range map[uint32]bool{64511: false, 64512: true, 65000: true, 65534: true, 65535: false} {
		if r.Contains(asn) != want {
			t.Errorf("%v contains %d = %v", r, asn, !want)
		}
	}
	if s := r.String(); s != "64512-65534" {
		t.Errorf("String = %q", s)
	}
	if s := (ASNRange{65000, 65000}).String(); s != "65000" {
		t.Errorf("String = %q", s)
	}
}
