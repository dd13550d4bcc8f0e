package conf

import (
	"errors"
	"strings"
	"testing"
)

// testFile is the name broken configurations are parsed under; relative
// paths in them resolve against testdata/.
const testFile = "testdata/fedrs.toml"

// doc strips the leading newline of a raw string, so line 1 of the
// configuration is the line after the backquote.
func doc(s string) []byte { return []byte(strings.TrimPrefix(s, "\n")) }

var brokenConfigs = []struct {
	name string
	toml string
	want string // err.Error(): one issue per line
}{
	{
		name: "neighbor is the route server's own address",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
listen = ["192.0.2.2:179", "[::]:179"]

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.1", "192.0.2.2", "192.0.2.11"]
`,
		want: `
testdata/fedrs.toml:9: member[1] (nhs-northfield).neighbors[1]: 192.0.2.1 is the route server's own address ([server] router_id); a neighbor is the member router's address on the peering LAN
testdata/fedrs.toml:9: member[1] (nhs-northfield).neighbors[2]: 192.0.2.2 is the route server's own address ([server] listen[1]); a neighbor is the member router's address on the peering LAN`,
	},
	{
		name: "history is a directory",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
history = "."

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
`,
		want: `
testdata/fedrs.toml:4: server.history: testdata is a directory; history names the database file, e.g. history = "history.db"`,
	},
	{
		name: "member asn zero",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]

[[member]]
name = "nhs-coastal"
asn = 0
neighbors = ["192.0.2.13"]
`,
		want: `
testdata/fedrs.toml:12: member[2] (nhs-coastal).asn: 0 is not a valid ASN; use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)
`,
	},
	{
		name: "member asn missing",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
neighbors = ["192.0.2.11"]
`,
		want: `
testdata/fedrs.toml:5: member[1] (nhs-northfield).asn: missing: the member's AS number, e.g. asn = 4200000001; use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)
`,
	},
	{
		name: "member asn reserved and route server's",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 23456
neighbors = ["192.0.2.11"]

[[member]]
name = "nhs-coastal"
asn = 4200065000
neighbors = ["192.0.2.13"]
`,
		want: `
testdata/fedrs.toml:7: member[1] (nhs-northfield).asn: 23456 is AS_TRANS (RFC 6793), a placeholder no network may use; use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)
testdata/fedrs.toml:12: member[2] (nhs-coastal).asn: 4200065000 is the route server's own ASN ([server] asn); a member needs its own AS number
`,
	},
	{
		name: "duplicate member asn",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]

[[member]]
name = "nhs-coastal"
asn = 4200001001
neighbors = ["192.0.2.13"]
`,
		want: `
testdata/fedrs.toml:12: member[2] (nhs-coastal).asn: 4200001001 is also the ASN of nhs-northfield; action communities address members by ASN, so each member needs its own (give one member several neighbors instead)
`,
	},
	{
		name: "server table missing",
		toml: `

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
`,
		want: `
testdata/fedrs.toml: server.asn: missing: the route server's AS number, e.g. asn = 4200000000; use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)
testdata/fedrs.toml: server.router_id: missing: the BGP identifier, an IPv4 address, e.g. router_id = "192.0.2.1"
`,
	},
	{
		name: "router id not ipv4 and asn too large",
		toml: `

[server]
asn = 4294967296
router_id = "2001:db8::1"
`,
		want: `
testdata/fedrs.toml:3: server.asn: 4294967296 is not a valid ASN; use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)
testdata/fedrs.toml:4: server.router_id: 2001:db8::1 is not an IPv4 address; the BGP identifier is 4 octets, e.g. "192.0.2.1"
`,
	},
	{
		name: "router id zero",
		toml: `

[server]
asn = 4200065000
router_id = "0.0.0.0"
`,
		want: `
testdata/fedrs.toml:4: server.router_id: 0.0.0.0 is not a valid BGP identifier; use a non-zero IPv4 address, usually the route server's own
`,
	},
	{
		name: "listen entries",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
listen = [
  "0.0.0.0",
  "::1:179",
  "[::]:99999",
  "[::]:179",
  "[::]:179",
]
`,
		want: `
testdata/fedrs.toml:5: server.listen[1]: "0.0.0.0" is not address:port; write "address:port", e.g. "0.0.0.0:179" or "[2001:db8::1]:179"
testdata/fedrs.toml:6: server.listen[2]: "::1:179": put an IPv6 address in brackets, e.g. "[::]:179"
testdata/fedrs.toml:7: server.listen[3]: "[::]:99999": port "99999" is not 1-65535
testdata/fedrs.toml:9: server.listen[5]: "[::]:179" is listed twice (also entry 4)
`,
	},
	{
		name: "unknown key with suggestion",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbours = ["192.0.2.11"]
`,
		want: `
testdata/fedrs.toml:5: member[1] (nhs-northfield).neighbors: no neighbors: list the member router's addresses on the peering LAN, e.g. neighbors = ["192.0.2.11", "2001:db8:ffff::11"]
testdata/fedrs.toml:8: member[1] (nhs-northfield).neighbours: unknown key "neighbours" in [[member]]; did you mean "neighbors"?
`,
	},
	{
		name: "unknown table",
		toml: `

[servr]
asn = 4200065000
router_id = "192.0.2.1"
`,
		want: `
testdata/fedrs.toml: server.asn: missing: the route server's AS number, e.g. asn = 4200000000; use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)
testdata/fedrs.toml: server.router_id: missing: the BGP identifier, an IPv4 address, e.g. router_id = "192.0.2.1"
testdata/fedrs.toml:2: servr: unknown key "servr" in the top level; did you mean "server"?
`,
	},
	{
		name: "key in the wrong table",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
md5_password = "secret"
colour = "blue"
`,
		want: `
testdata/fedrs.toml:4: server.md5_password: unknown key "md5_password" in [server]; "md5_password" is a key of [[member]]
testdata/fedrs.toml:5: server.colour: unknown key "colour" in [server]
`,
	},
	{
		name: "non-canonical prefix",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
prefixes = ["10.1.2.0/16", "10.2.0.0", "2001:db8:100::/40 le 48"]
`,
		want: `
testdata/fedrs.toml:9: member[1] (nhs-northfield).prefixes[1]: 10.1.2.0/16 is not a canonical prefix (host bits are set); did you mean 10.1.0.0/16?
testdata/fedrs.toml:9: member[1] (nhs-northfield).prefixes[2]: 10.2.0.0 has no prefix length; write e.g. 10.2.0.0/16
`,
	},
	{
		name: "ge and le out of bounds, multi-line array",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
prefixes = [
  "10.16.0.0/14 le 24",    # fine
  "10.20.0.0/14 le 8",     # shorter than the prefix
  "10.24.0.0/16 ge 33",    # longer than IPv4 allows
  "10.28.0.0/16 ge 24 le 20",
  "10.30.0.0/16 lt 24",
]
`,
		want: `
testdata/fedrs.toml:11: member[1] (nhs-northfield).prefixes[2]: "10.20.0.0/14 le 8": le 8 is shorter than the prefix itself (/14); use 14-32
testdata/fedrs.toml:12: member[1] (nhs-northfield).prefixes[3]: "10.24.0.0/16 ge 33": ge 33 is longer than an IPv4 prefix can be; use 16-32
testdata/fedrs.toml:13: member[1] (nhs-northfield).prefixes[4]: "10.28.0.0/16 ge 24 le 20": le 20 is less than ge 24; nothing would match
testdata/fedrs.toml:14: member[1] (nhs-northfield).prefixes[5]: "10.30.0.0/16 lt 24": unexpected "lt"; write "PREFIX [ge N] [le N] [shared]", e.g. "10.1.0.0/16 le 24"
`,
	},
	{
		name: "invalid and duplicate names",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "NHS Coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]

[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]

[[member]]
name = "council-east"
asn = 4200002002
neighbors = ["192.0.2.22"]

[[member]]
asn = 4200002003
neighbors = ["192.0.2.23"]
`,
		want: `
testdata/fedrs.toml:6: member[1] (NHS Coastal).name: "NHS Coastal" is not a valid name; use lowercase letters, digits and '-' (at most 63), e.g. "nhs-coastal"
testdata/fedrs.toml:16: member[3] (council-east).name: "council-east" is also the name of member[2]; names must be unique
testdata/fedrs.toml:20: member[4].name: missing: every member needs a name, e.g. name = "nhs-coastal"
`,
	},
	{
		name: "neighbors",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11", "::ffff:192.0.2.12", "192.0.2.11", "224.0.0.5", "192.0.2.300"]

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.11"]

[[member]]
name = "nhs-riverside"
asn = 4200001003
neighbors = []
`,
		want: `
testdata/fedrs.toml:8: member[1] (nhs-northfield).neighbors[2]: ::ffff:192.0.2.12 is an IPv4-mapped IPv6 address; write 192.0.2.12
testdata/fedrs.toml:8: member[1] (nhs-northfield).neighbors[3]: 192.0.2.11 is listed twice
testdata/fedrs.toml:8: member[1] (nhs-northfield).neighbors[4]: 224.0.0.5 cannot be a BGP neighbor; use the router's unicast address on the peering LAN
testdata/fedrs.toml:8: member[1] (nhs-northfield).neighbors[5]: "192.0.2.300" is not an IP address; write e.g. "192.0.2.11" or "2001:db8:ffff::11"
testdata/fedrs.toml:13: member[2] (nhs-coastal).neighbors[1]: 192.0.2.11 is also a neighbor of nhs-northfield; each router address belongs to one member
testdata/fedrs.toml:18: member[3] (nhs-riverside).neighbors: no neighbors: list the member router's addresses on the peering LAN, e.g. neighbors = ["192.0.2.11", "2001:db8:ffff::11"]
`,
	},
	{
		name: "undefined group",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[group]]
name = "nhs"
id = 1

[[group]]
name = "council"
id = 2

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
groups = ["nsh", "estates", "council", "council"]
`,
		want: `
testdata/fedrs.toml:17: member[1] (nhs-northfield).groups[1]: no [[group]] is called "nsh"; did you mean "nhs"?
testdata/fedrs.toml:17: member[1] (nhs-northfield).groups[2]: no [[group]] is called "estates"; defined groups: "nhs", "council"
testdata/fedrs.toml:17: member[1] (nhs-northfield).groups[4]: "council" is listed twice
`,
	},
	{
		name: "group ids and names",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[group]]
name = "nhs"
id = 1

[[group]]
name = "council"
id = 1

[[group]]
name = "nhs"

[[group]]
name = "Social_Care"
id = 3
`,
		want: `
testdata/fedrs.toml:11: group[2] (council).id: 1 is also the id of group[1] (nhs); each group needs its own
testdata/fedrs.toml:13: group[3] (nhs).id: missing or 0: each group needs an id of 1-4294967295, used in the action communities RS:10:id and RS:11:id
testdata/fedrs.toml:14: group[3] (nhs).name: "nhs" is also the name of group[1]
testdata/fedrs.toml:17: group[4] (Social_Care).name: "Social_Care" is not a valid name; use lowercase letters, digits and '-' (at most 63), e.g. "social-care"
`,
	},
	{
		name: "transit_for",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "council-hillside"
asn = 4200002002
neighbors = ["192.0.2.22"]
transit_for = ["council-hillside", "nhs-riversid", "nhs-riversid", "acme"]

[[member]]
name = "nhs-riverside"
asn = 4200001003
neighbors = ["192.0.2.14"]
`,
		want: `
testdata/fedrs.toml:9: member[1] (council-hillside).transit_for[1]: a member cannot be its own transit; remove "council-hillside"
testdata/fedrs.toml:9: member[1] (council-hillside).transit_for[2]: no member is called "nhs-riversid"; did you mean "nhs-riverside"?
testdata/fedrs.toml:9: member[1] (council-hillside).transit_for[3]: "nhs-riversid" is listed twice
testdata/fedrs.toml:9: member[1] (council-hillside).transit_for[4]: no member is called "acme"
`,
	},
	{
		name: "md5 password and file both set",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "council-harbour"
asn = 4200002003
neighbors = ["192.0.2.23"]
md5_password = "harbour"
md5_password_file = "md5.txt"
`,
		want: `
testdata/fedrs.toml:10: member[1] (council-harbour).md5_password_file: set md5_password or md5_password_file, not both
`,
	},
	{
		name: "md5 file unreadable or empty",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "council-harbour"
asn = 4200002003
neighbors = ["192.0.2.23"]
md5_password_file = "no-such-md5.txt"

[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]
md5_password_file = "md5-empty.txt"
`,
		want: `
testdata/fedrs.toml:9: member[1] (council-harbour).md5_password_file: cannot read testdata/no-such-md5.txt: no such file or directory
testdata/fedrs.toml:15: member[2] (council-east).md5_password_file: testdata/md5-empty.txt is empty; it should hold the secret on one line
`,
	},
	{
		name: "md5 password too long",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "council-harbour"
asn = 4200002003
neighbors = ["192.0.2.23"]
md5_password = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
`,
		want: `
testdata/fedrs.toml:9: member[1] (council-harbour).md5_password: the password is 81 bytes; TCP-MD5 keys are at most 80
`,
	},
	{
		name: "prefix list file errors",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
prefix_list_file = "prefixes-bad.txt"

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
prefix_list_file = "bgpq4-bad.json"

[[member]]
name = "nhs-riverside"
asn = 4200001003
neighbors = ["192.0.2.14"]
prefix_list_file = "bgpq4-aslist.json"

[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]
prefix_list_file = "missing.json"
`,
		want: `
testdata/prefixes-bad.txt:2: member[1] (nhs-northfield).prefix_list_file: 10.201.0.0/33: /33 is longer than an IPv4 prefix can be (at most /32)
testdata/prefixes-bad.txt:3: member[1] (nhs-northfield).prefix_list_file: "2001:db8:f000::/36 lt 48": unexpected "lt"; write "PREFIX [ge N] [le N] [shared]", e.g. "10.1.0.0/16 le 24"
testdata/bgpq4-bad.json:3: member[2] (nhs-coastal).prefix_list_file: 10.99.10.1/24 is not a canonical prefix (host bits are set); did you mean 10.99.10.0/24?
testdata/bgpq4-bad.json:4: member[2] (nhs-coastal).prefix_list_file: "172.20.0.0/16 ge 12 le 24": ge 12 is shorter than the prefix itself (/16); use 16-32
testdata/bgpq4-aslist.json:2: member[3] (nhs-riverside).prefix_list_file: list "asns" holds AS numbers, not prefixes: generate it with bgpq4 -j -l NAME (without -f or -t)
testdata/fedrs.toml:27: member[4] (council-east).prefix_list_file: cannot read testdata/missing.json: no such file or directory
`,
	},
	{
		name: "hold times",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
hold_time = "1s"
connect_retry = "0s"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
hold_time = 90

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
hold_time = "90.5s"

[[member]]
name = "nhs-riverside"
asn = 4200001003
neighbors = ["192.0.2.14"]
hold_time = "ninety"
`,
		want: `
testdata/fedrs.toml:4: server.hold_time: 1s is too short; use 0 (no keepalives) or 3s-65535s (RFC 4271)
testdata/fedrs.toml:5: server.connect_retry: 0s is too short; use 1s or more (default 30s)
testdata/fedrs.toml:11: member[1] (nhs-northfield).hold_time: want a duration in quotes, e.g. "90s", "15m" or "400d", not the number 90
testdata/fedrs.toml:17: member[2] (nhs-coastal).hold_time: 1m30.5s is not whole seconds; BGP carries the hold time in seconds
testdata/fedrs.toml:23: member[3] (nhs-riverside).hold_time: invalid duration "ninety": want a Go duration like "90s" or "1h30m", or days like "400d"
`,
	},
	{
		name: "gtsm hops, port, local addresses",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
gtsm = true
gtsm_hops = 0
port = 70000
local_address_v4 = "2001:db8:ffff::1"
local_address_v6 = "192.0.2.1"

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
gtsm_hops = 255
`,
		want: `
testdata/fedrs.toml:10: member[1] (nhs-northfield).gtsm_hops: 0 is not valid; use 1-254 (1: directly connected, the default)
testdata/fedrs.toml:11: member[1] (nhs-northfield).port: 70000 is not a TCP port; use 1-65535 (default 179)
testdata/fedrs.toml:12: member[1] (nhs-northfield).local_address_v4: 2001:db8:ffff::1 is not an IPv4 address
testdata/fedrs.toml:13: member[1] (nhs-northfield).local_address_v6: 192.0.2.1 is not an IPv6 address
testdata/fedrs.toml:19: member[2] (nhs-coastal).gtsm_hops: 255 is not valid; use 1-254 (1: directly connected, the default)
`,
	},
	{
		name: "families and add-path",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
families = ["ipv4", "ipx", "ipv4"]
add_path = "recieve"

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
families = []
`,
		want: `
testdata/fedrs.toml:9: member[1] (nhs-northfield).families[2]: "ipx" is not valid; use "ipv4" or "ipv6"
testdata/fedrs.toml:9: member[1] (nhs-northfield).families[3]: "ipv4" is listed twice
testdata/fedrs.toml:10: member[1] (nhs-northfield).add_path: "recieve" is not valid; did you mean "receive"? (use "off", "receive", "send" or "both")
testdata/fedrs.toml:16: member[2] (nhs-coastal).families: empty: enable at least one of "ipv4", "ipv6" (or leave families out for both)
`,
	},
	{
		name: "max prefixes inline table",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
max_prefixes = { ipv4 = -1, ipv6 = 100, action = "shutdown", restart = "15 minutes" }
`,
		want: `
testdata/fedrs.toml:9: member[1] (nhs-northfield).max_prefixes.action: "shutdown" is not valid; use "teardown", "warn" or "filter"
testdata/fedrs.toml:9: member[1] (nhs-northfield).max_prefixes.ipv4: -1 is negative; use 0 (no limit) or a number of prefixes
testdata/fedrs.toml:9: member[1] (nhs-northfield).max_prefixes.restart: invalid duration "15 minutes": want a Go duration like "90s" or "1h30m", or days like "400d"
`,
	},
	{
		name: "policy checks",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[policy]
preset = "ix"

[policy.checks]
rpkii = "tag"
aspa = "drop"
otc_leak = "off"
frobnicate = "off"
`,
		want: `
testdata/fedrs.toml:6: policy.preset: "ix" is not valid; did you mean "ixp"? (use "federation" or "ixp")
testdata/fedrs.toml:9: policy.checks.rpkii: unknown check "rpkii"; did you mean "rpki"?
testdata/fedrs.toml:10: policy.checks.aspa: "drop" is not valid; use "filter", "tag" or "off"
testdata/fedrs.toml:12: policy.checks.frobnicate: unknown check "frobnicate"; the checks are prefix_length, bogon_prefix, bogon_asn, as_path_length, as_set, first_as, next_hop, prefix_allowed, origin_allowed, registry, otc_leak, member_leak, transit_free, rpki, aspa, communities, max_prefix, blackhole, graceful_shutdown
`,
	},
	{
		name: "policy lengths",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[policy]
min_length_v4 = 24
max_length_v4 = 16
max_length_v6 = 129
max_as_path = 0
max_communities = 0
blackhole_next_hop_v4 = "2001:db8::66"
`,
		want: `
testdata/fedrs.toml:7: policy.max_length_v4: min_length_v4 24 is greater than max_length_v4 16; no prefix would be accepted
testdata/fedrs.toml:8: policy.max_length_v6: 129 is not a prefix length; use 0-128
testdata/fedrs.toml:9: policy.max_as_path: 0 would reject every route; use 1 or more (default 64)
testdata/fedrs.toml:10: policy.max_communities: 0 would reject routes carrying any community, action communities included; use 1 or more (default 150), or set checks.communities = "off"
testdata/fedrs.toml:11: policy.blackhole_next_hop_v4: 2001:db8::66 is not an IPv4 address
`,
	},
	{
		name: "member policy overlay errors point at the member",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[policy]
min_length_v4 = 8
max_length_v4 = 24

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]

[member.policy]
max_length_v4 = 4
checks = { rpki = "skip" }

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]

[member.policy]
preset = "federaton"
`,
		want: `
testdata/fedrs.toml:15: member[1] (nhs-northfield).policy.max_length_v4: min_length_v4 8 is greater than max_length_v4 4; no prefix would be accepted
testdata/fedrs.toml:16: member[1] (nhs-northfield).policy.checks.rpki: "skip" is not valid; use "filter", "tag" or "off"
testdata/fedrs.toml:24: member[2] (nhs-coastal).policy.preset: "federaton" is not valid; did you mean "federation"? (use "federation" or "ixp")
`,
	},
	{
		name: "registry conflicts",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
prefixes = ["10.16.0.0/14 le 24", "10.99.10.0/24 shared", "10.50.0.0/16", "10.16.0.0/14"]

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
prefixes = ["10.20.0.0/14 le 24", "10.99.10.0/24", "10.50.0.0/16"]

[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]
prefixes = ["10.16.0.0/14 shared"]
`,
		want: `
testdata/fedrs.toml:9: member[1] (nhs-northfield).prefixes[4]: 10.16.0.0/14 is listed twice (also prefixes[1]); merge the two entries
testdata/fedrs.toml:15: member[2] (nhs-coastal).prefixes[2]: 10.99.10.0/24 is registered as shared by nhs-northfield but not shared here; write "10.99.10.0/24 shared"
testdata/fedrs.toml:15: member[2] (nhs-coastal).prefixes[3]: 10.50.0.0/16 is also registered to nhs-northfield; a prefix has one owner: remove it from one member, or mark it "shared" in both if they own it jointly
testdata/fedrs.toml:21: member[3] (council-east).prefixes[1]: 10.16.0.0/14 is marked shared here but not by nhs-northfield; add "shared" there too, or remove it here
`,
	},
	{
		name: "toml syntax error",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11",
`,
		want: `
testdata/fedrs.toml:8:27: TOML syntax: unexpected EOF; expected value
`,
	},
	{
		name: "wrong value types",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = "4200001001"
neighbors = "192.0.2.11"
passive = "true"
shutdown = "yes"
gtsm_hops = 1.5
`,
		want: `
testdata/fedrs.toml:7: member[1] (nhs-northfield).asn: want a whole number: write 4200001001 without quotes
testdata/fedrs.toml:8: member[1] (nhs-northfield).neighbors: want an array, e.g. ["192.0.2.11", "2001:db8:ffff::11"], not the string "192.0.2.11"
testdata/fedrs.toml:9: member[1] (nhs-northfield).passive: write true without quotes
testdata/fedrs.toml:10: member[1] (nhs-northfield).shutdown: want true or false, not the string "yes"
testdata/fedrs.toml:11: member[1] (nhs-northfield).gtsm_hops: want a whole number, not the number 1.5
`,
	},
	{
		name: "member as a single table",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[member]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
`,
		want: `
testdata/fedrs.toml:5: member: each member is an entry of an array of tables: write [[member]], not [member]
`,
	},
	{
		name: "server as array of tables",
		toml: `

[[server]]
asn = 4200065000
router_id = "192.0.2.1"
`,
		want: `
testdata/fedrs.toml:2: server: server is a single table: write [server], not [[server]]
`,
	},
	{
		name: "control api",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
control_tcp = "127.0.0.1"
control_tls_cert = "/etc/fedrs/cert.pem"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
`,
		want: `
testdata/fedrs.toml:1: server.control_tls_key: missing: TLS needs both control_tls_cert and control_tls_key
testdata/fedrs.toml:4: server.control_tcp: "127.0.0.1" is not address:port; write "address:port", e.g. "0.0.0.0:179" or "[2001:db8::1]:179"
testdata/fedrs.toml:4: server.control_tcp: the TCP control listener requires a bearer token: set control_token_file (or control_token)
`,
	},
	{
		name: "control token without listener and short",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
control_token = "abc"
`,
		want: `
testdata/fedrs.toml:4: server.control_token: has no effect without control_tcp; set control_tcp = "127.0.0.1:8179" or remove it
testdata/fedrs.toml:4: server.control_token: the token is 3 characters; use at least 16 random characters (e.g. openssl rand -hex 32)
`,
	},
	{
		name: "http listener",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[http]
listen = "127.0.0.1"
cert = "testdata-cert.pem"
token = "short"
token_file = "md5.txt"
basic_user = "noc:ops"
`,
		want: `
testdata/fedrs.toml:5: http.basic_password_file: missing: basic authentication needs both basic_user and basic_password_file
testdata/fedrs.toml:5: http.key: missing: TLS needs both cert and key
testdata/fedrs.toml:6: http.listen: "127.0.0.1" is not address:port; write "address:port", e.g. "0.0.0.0:179" or "[2001:db8::1]:179"
testdata/fedrs.toml:9: http.token_file: set token or token_file, not both
testdata/fedrs.toml:10: http.basic_user: "noc:ops" contains ":", which basic authentication cannot carry in a user name
testdata/fedrs.toml:10: http.basic_user: set a bearer token (token or token_file) or basic authentication (basic_user), not both
`,
	},
	{
		name: "http files",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[http]
listen = "127.0.0.1:8080"
cert = "no-cert.pem"
key = "no-key.pem"
token_file = "md5-empty.txt"
`,
		want: `
testdata/fedrs.toml:7: http.cert: cannot read testdata/no-cert.pem: no such file or directory
testdata/fedrs.toml:9: http.token_file: testdata/md5-empty.txt is empty; it should hold the secret on one line
`,
	},
	{
		name: "http certificate and password",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[http]
listen = "[::1]:8080"
cert = "bogons.txt"
key = "md5.txt"
basic_user = "noc"
basic_password_file = "no-password.txt"
`,
		want: `
testdata/fedrs.toml:7: http.cert: testdata/bogons.txt and testdata/md5.txt are not a TLS certificate and its key: tls: failed to find any PEM data in certificate input
testdata/fedrs.toml:10: http.basic_password_file: cannot read testdata/no-password.txt: no such file or directory
`,
	},
	{
		name: "http keys without listen",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[http]
token_file = "md5.txt"
basic_user = "noc"
birdwatcher = true
`,
		want: `
testdata/fedrs.toml:6: http.token_file: has no effect without listen; set listen = "127.0.0.1:8080" or remove it
testdata/fedrs.toml:7: http.basic_user: has no effect without listen; set listen = "127.0.0.1:8080" or remove it
testdata/fedrs.toml:8: http.birdwatcher: has no effect without listen; set listen = "127.0.0.1:8080" or remove it
`,
	},
	{
		name: "http birdwatcher with a token",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[http]
listen = "127.0.0.1:8080"
token = "0123456789abcdef0123"
birdwatcher = true
`,
		want: `
testdata/fedrs.toml:8: http.birdwatcher: Alice-LG sends no headers, so it cannot send the bearer token: protect the listener by its address, or use basic_user and write the credentials into Alice's api URL
`,
	},
	{
		name: "http and control_tcp both",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
control_tcp = "127.0.0.1:8179"
control_token_file = "md5.txt"

[http]
listen = "127.0.0.1:8080"
`,
		want: `
testdata/fedrs.toml:8: http.listen: server.control_tcp is set too; control_tcp is the deprecated name of http.listen: remove it (and move control_token_file, control_tls_cert and control_tls_key to [http] token_file, cert and key)
`,
	},
	{
		name: "bogon file",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[policy]
bogon_prefixes_file = "no-bogons.txt"
bogon_prefixes = ["10.0.0.0/8", "192.168.1.1/16"]
bogon_asns = [0, "64512-65534", "65534-64512", "AS4x"]
`,
		want: `
testdata/fedrs.toml:6: policy.bogon_prefixes_file: cannot read testdata/no-bogons.txt: no such file or directory
testdata/fedrs.toml:7: policy.bogon_prefixes[2]: 192.168.1.1/16 is not a canonical prefix (host bits are set); did you mean 192.168.0.0/16?
testdata/fedrs.toml:8: policy.bogon_asns[3]: "65534-64512" is backwards; write 64512-65534
testdata/fedrs.toml:8: policy.bogon_asns[4]: "AS4x": not an AS number; write an AS number or range, e.g. 64512, "AS64512" or "64512-65534"
`,
	},
	{
		name: "history and rpki",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[history]
queue = 0
retain = "-5d"

[rpki]
server = "3323"

[[rpki.cache]]
address = "rpki.example.net:3323"
preference = -1

[[rpki.cache]]
address = "rpki.example.net:3323"

[[rpki.cache]]
preference = 2
`,
		want: `
testdata/fedrs.toml:6: history.queue: 0 is too small; use a number of events, at least 1 (default 1048576)
testdata/fedrs.toml:7: history.retain: invalid duration "-5d": want a number of days like "400d" or a Go duration like "90s"
testdata/fedrs.toml:10: rpki.server: "3323" is not address:port; write "address:port", e.g. "0.0.0.0:179" or "[2001:db8::1]:179"
testdata/fedrs.toml:14: rpki.cache[1].preference: -1 is negative; use 0 or more (lower is preferred)
testdata/fedrs.toml:17: rpki.cache[2].address: "rpki.example.net:3323" is also rpki.cache[1]
testdata/fedrs.toml:19: rpki.cache[3].address: missing: the RTR cache's address, e.g. address = "rpki.example.net:3323"
`,
	},
	{
		name: "history durable without a history",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[history]
durable = true
`,
		want: `
testdata/fedrs.toml:6: history.durable: durable = true but [server] history is not set, so there is nothing to commit to; set [server] history or remove durable
`,
	},
	{
		name: "dotted keys and origin asns",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
max_prefixes.action = "drop"
policy.max_as_path = -3
origin_asns = [0, "4200001001-4200001000"]
`,
		want: `
testdata/fedrs.toml:9: member[1] (nhs-northfield).max_prefixes.action: "drop" is not valid; use "teardown", "warn" or "filter"
testdata/fedrs.toml:10: member[1] (nhs-northfield).policy.max_as_path: -3 would reject every route; use 1 or more (default 64)
testdata/fedrs.toml:11: member[1] (nhs-northfield).origin_asns[1]: AS 0 cannot originate routes (RFC 7607); use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)
testdata/fedrs.toml:11: member[1] (nhs-northfield).origin_asns[2]: "4200001001-4200001000" is backwards; write 4200001000-4200001001
`,
	},
	{
		name: "log level and next hops",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
log_level = "verbose"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
next_hops = ["0.0.0.0", "192.0.2.12"]
`,
		want: `
testdata/fedrs.toml:4: server.log_level: "verbose" is not valid; use "debug", "info", "warn" or "error"
testdata/fedrs.toml:10: member[1] (nhs-northfield).next_hops[1]: 0.0.0.0 cannot be a next hop
`,
	},
	{
		name: "user and group",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
user = "fedrs:fedrs"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
`,
		want: `
testdata/fedrs.toml:4: server.user: "fedrs:fedrs" is not a user name (a name like "fedrs", or a number)
`,
	},
	{
		name: "group without user",
		toml: `
[server]
asn = 4200065000
router_id = "192.0.2.1"
group = "fedrs"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
`,
		want: `
testdata/fedrs.toml:4: server.group: has no effect without user; set user = "fedrs" as well, or remove it
`,
	},
}

func TestBrokenConfigs(t *testing.T) {
	if len(brokenConfigs) < 25 {
		t.Fatalf("only %d broken configurations", len(brokenConfigs))
	}
	for _, tc := range brokenConfigs {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(doc(tc.toml), testFile)
			if err == nil {
				t.Fatalf("no error; loaded %d members", len(c.Members))
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, not *conf.Error: %v", err, err)
			}
			want := strings.TrimSuffix(strings.TrimPrefix(tc.want, "\n"), "\n")
			if got := err.Error(); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
