package history

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// Cache bounds: the database is the truth, these maps only save lookups.
const (
	maxAttrPtrCache  = 1 << 16
	maxAttrHashCache = 1 << 18
	maxCauseCache    = 4096
	maxSetCache      = 1 << 14
)

type memberRef struct {
	id   int64
	name string
	asn  uint32
}

func (w *writer) resetCaches() {
	w.byName = map[string]int64{}
	w.sources = map[*rib.Source]int32{}
	w.attrPtr = map[*wire.AttrSet]int32{}
	w.attrHash = map[[16]byte]int32{}
	w.verdicts = map[policy.Verdict]int32{}
	w.causes = map[string]int32{}
	w.sets = map[string]int32{}
}

func (w *writer) memberByName(name string) (int64, error) {
	if id, ok := w.byName[name]; ok {
		return id, nil
	}
	var id int64
	if err := w.tx.QueryRowContext(w.ctx, "INSERT INTO members (name, asn) VALUES (?, 0) ON CONFLICT(name) DO UPDATE SET name = excluded.name RETURNING id",
		name).Scan(&id); err != nil {
		return 0, fmt.Errorf("recording member %s: %w", name, err)
	}
	w.byName[name] = id
	return id, nil
}

// memberIndex returns the member of configuration index i.
func (w *writer) memberIndex(i int) (memberRef, error) {
	if i >= 0 && i < len(w.members) {
		return w.members[i], nil
	}
	name := "member-" + strconv.Itoa(i)
	id, err := w.memberByName(name)
	return memberRef{id: id, name: name}, err
}

func (w *writer) source(s *rib.Source) (int32, error) {
	if id, ok := w.sources[s]; ok {
		return id, nil
	}
	m, err := w.memberIndex(s.Member)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := w.tx.QueryRowContext(w.ctx, "INSERT INTO sources (member_id, addr) VALUES (?, ?) ON CONFLICT(member_id, addr) DO UPDATE SET addr = excluded.addr RETURNING id",
		m.id, s.Addr.String()).Scan(&id); err != nil {
		return 0, fmt.Errorf("recording neighbour %s: %w", s.Name, err)
	}
	w.sources[s] = int32(id)
	return int32(id), nil
}

func (w *writer) attrSet(a *wire.AttrSet) (int32, error) {
	if id, ok := w.attrPtr[a]; ok {
		return id, nil
	}
	h := attrHash(a)
	id, ok := w.attrHash[h]
	if !ok {
		var id64 int64
		err := w.tx.QueryRowContext(w.ctx, "SELECT id FROM attr_sets WHERE hash = ?", h[:]).Scan(&id64)
		if errors.Is(err, sql.ErrNoRows) {
			t := attrText(&a.Attrs)
			err = w.tx.QueryRowContext(w.ctx, `INSERT INTO attr_sets (hash, origin, as_path, origin_as, next_hop, next_hop_ll, med, communities, large, ext_count, otc, discarded)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				h[:], t.origin, t.asPath, t.originAS, t.nextHop, t.nextHopLL, t.med, t.communities, t.large, a.ExtCount, t.otc, t.discarded).Scan(&id64)
		}
		if err != nil {
			return 0, fmt.Errorf("interning an attribute set: %w", err)
		}
		id = int32(id64)
		if len(w.attrHash) >= maxAttrHashCache {
			clear(w.attrHash)
		}
		w.attrHash[h] = id
	}
	if len(w.attrPtr) >= maxAttrPtrCache {
		clear(w.attrPtr)
	}
	w.attrPtr[a] = id
	return id, nil
}

// attrHash hashes the canonical form the attribute table interns by.
func attrHash(a *wire.AttrSet) [16]byte {
	h := sha256.New()
	var b [40]byte
	k := append(b[:0], byte(a.Family))
	k = append(k, a.NextHop.AsSlice()...)
	k = append(k, 0xff)
	k = append(k, a.NextHopLL.AsSlice()...)
	k = append(k, 0xff)
	h.Write(k)
	h.Write(a.Raw())
	var out [16]byte
	copy(out[:], h.Sum(b[:0]))
	return out
}

func (w *writer) verdict(v policy.Verdict) (int32, error) {
	if id, ok := w.verdicts[v]; ok {
		return id, nil
	}
	names := func(s policy.ReasonSet) string {
		var out []string
		for _, r := range s.Reasons() {
			out = append(out, r.String())
		}
		return strings.Join(out, " ")
	}
	filtered, tagged := names(v.Filtered), names(v.Tagged)
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	bh, gs := v.Mods&policy.ModBlackhole != 0, v.Mods&policy.ModGracefulShutdown != 0
	key := fmt.Sprintf("f=%s;t=%s;rov=%s;aspa=%s;reg=%s;bh=%d;gs=%d", filtered, tagged, v.Mods.ROV(), v.Mods.ASPA(), v.Mods.Registry(), b2i(bh), b2i(gs))
	var id int64
	err := w.tx.QueryRowContext(w.ctx, "SELECT id FROM verdicts WHERE key = ?", key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = w.tx.QueryRowContext(w.ctx, `INSERT INTO verdicts (key, accepted, filtered, tagged, rov, aspa, registry, blackhole, graceful_shutdown)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			key, b2i(v.Accepted()), filtered, tagged, v.Mods.ROV().String(), v.Mods.ASPA().String(), v.Mods.Registry().String(), b2i(bh), b2i(gs)).Scan(&id)
		if err == nil {
			for _, kind := range []struct {
				name string
				set  policy.ReasonSet
			}{{"filtered", v.Filtered}, {"tagged", v.Tagged}} {
				for _, r := range kind.set.Reasons() {
					if _, err = w.tx.ExecContext(w.ctx, "INSERT OR IGNORE INTO verdict_reasons (verdict_id, kind, reason, code) VALUES (?, ?, ?, ?)",
						id, kind.name, r.String(), r.Info().Code); err != nil {
						break
					}
				}
			}
		}
	}
	if err != nil {
		return 0, fmt.Errorf("interning a verdict: %w", err)
	}
	w.verdicts[v] = int32(id)
	return int32(id), nil
}

func (w *writer) cause(text string) (int32, error) {
	if id, ok := w.causes[text]; ok {
		return id, nil
	}
	var id int64
	if err := w.tx.QueryRowContext(w.ctx, "INSERT INTO causes (text) VALUES (?) ON CONFLICT(text) DO UPDATE SET text = excluded.text RETURNING id", text).Scan(&id); err != nil {
		return 0, fmt.Errorf("interning a cause: %w", err)
	}
	if len(w.causes) >= maxCauseCache {
		clear(w.causes)
	}
	w.causes[text] = int32(id)
	return int32(id), nil
}

// memberSet interns the set of members of a bitset (configuration
// indices); 0 for the empty set.
func (w *writer) memberSet(b policy.Bitset) (int32, error) {
	w.setBuf = w.setBuf[:0]
	for _, word := range b {
		w.setBuf = binary.LittleEndian.AppendUint64(w.setBuf, word)
	}
	if id, ok := w.sets[string(w.setBuf)]; ok {
		return id, nil
	}
	ids := w.idBuf[:0]
	var names []string
	for i := 0; i < len(b)*64; i++ {
		if b.Has(i) {
			m, err := w.memberIndex(i)
			if err != nil {
				return 0, err
			}
			ids = append(ids, m.id)
			names = append(names, m.name)
		}
	}
	w.idBuf = ids
	if len(ids) == 0 {
		w.sets[string(w.setBuf)] = 0
		return 0, nil
	}
	slices.Sort(ids)
	var kb strings.Builder
	for i, id := range ids {
		if i > 0 {
			kb.WriteByte(' ')
		}
		kb.WriteString(strconv.FormatInt(id, 10))
	}
	slices.Sort(names)
	var id int64
	err := w.tx.QueryRowContext(w.ctx, "SELECT id FROM member_sets WHERE key = ?", kb.String()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = w.tx.QueryRowContext(w.ctx, "INSERT INTO member_sets (key, members, size) VALUES (?, ?, ?) RETURNING id",
			kb.String(), strings.Join(names, " "), len(ids)).Scan(&id)
		for _, m := range ids {
			if err != nil {
				break
			}
			_, err = w.tx.ExecContext(w.ctx, "INSERT INTO member_set_members (member_id, set_id) VALUES (?, ?)", m, id)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("interning a member set: %w", err)
	}
	if len(w.sets) >= maxSetCache {
		clear(w.sets)
	}
	w.sets[string(w.setBuf)] = int32(id)
	return int32(id), nil
}
