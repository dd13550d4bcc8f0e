package rpki_test

import (
	"encoding/json"
	"strings"
	"testing"

	. "github.com/fedrs/fedrs/rpki"
)

func TestCLIHelpers(t *testing.T) {
	s := &Snapshot{Serial: 3, VRPs: mustVRPs(t, vrp("192.0.2.0/24", 24, 64496), vrp("192.0.2.0/23", 23, 64497)), ASPAs: NewASPAs(testASPAs)}
	e, err := Lookup(s, "192.0.2.0/24", "AS64497")
	if err != nil || e.State != Invalid || len(e.Covering) != 2 {
		t.Fatalf("Lookup = %+v, %v", e, err)
	}
	var b strings.Builder
	e.WriteText(&b)
	if !strings.Contains(b.String(), "INVALID") || !strings.Contains(b.String(), "192.0.2.0/23") {
		t.Errorf("lookup text:\n%s", b.String())
	}
	if e, _ := Lookup(s, "192.0.2.0/24", "{64496,64497}"); e.State != Invalid || e.OriginOK {
		t.Errorf("AS_SET origin: %+v", e)
	}
	if _, err := Lookup(s, "192.0.2.0/33", "1"); err == nil {
		t.Error("bad prefix accepted")
	}

	asns, set, err := ParsePath([]string{"AS3", "2", "2", "{5,6}", "1"})
	if err != nil || !set || len(asns) != 4 {
		t.Errorf("ParsePath = %v %v %v", asns, set, err)
	}
	if _, _, err := ParsePath([]string{"1", "{2"}); err == nil {
		t.Error("unterminated AS_SET accepted")
	}
	pe, err := CheckPath(s, []string{"9", "2", "1"}, 9)
	if err != nil || pe.State != PathInvalid {
		t.Fatalf("CheckPath = %+v %v", pe, err)
	}
	b.Reset()
	pe.WriteText(&b)
	if !strings.Contains(b.String(), "> AS2 → AS9: Not Provider+") {
		t.Errorf("aspa text:\n%s", b.String())
	}
	js, _ := json.Marshal(pe)
	if !strings.Contains(string(js), `"state":"invalid"`) {
		t.Errorf("aspa JSON %s", js)
	}

	rep := RegistryFromConfig(testConfig()).Check()
	b.Reset()
	rep.WriteText(&b)
	if !strings.Contains(b.String(), "registry nested ") || !strings.Contains(b.String(), "registry shared ") {
		t.Errorf("registry text:\n%s", b.String())
	}
}
