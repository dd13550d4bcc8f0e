package member

import (
	"context"
	"log/slog"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// Notification is a NOTIFICATION the router sent to or received from the
// route server, as its BGP speaker reported it.
type Notification struct {
	At            time.Time
	Code, Subcode uint8
	// Communication is the RFC 9003 shutdown communication of a Cease
	// Administrative Shutdown or Reset.
	Communication string
}

// Notifications returns the NOTIFICATIONs the router sent and received,
// oldest first.
func (r *Router) Notifications() (sent, received []Notification) {
	r.notes.mu.Lock()
	defer r.notes.mu.Unlock()
	return append([]Notification(nil), r.notes.sent...), append([]Notification(nil), r.notes.received...)
}

// MessageCounts counts BGP messages by type.
type MessageCounts struct {
	Open, Update, Notification, Keepalive, Refresh, Total uint64
}

// Messages returns the messages the router sent to and received from
// the route server, as its BGP speaker counts them (since it started).
func (r *Router) Messages(ctx context.Context) (sent, received MessageCounts, err error) {
	conv := func(m *api.Message) MessageCounts {
		if m == nil {
			return MessageCounts{}
		}
		return MessageCounts{Open: m.Open, Update: m.Update, Notification: m.Notification, Keepalive: m.Keepalive,
			Refresh: m.Refresh, Total: m.Total}
	}
	err = r.s.ListPeer(ctx, &api.ListPeerRequest{Address: r.cfg.RSAddr.String()}, func(p *api.Peer) {
		if p.State != nil && p.State.Messages != nil {
			sent, received = conv(p.State.Messages.Sent), conv(p.State.Messages.Received)
		}
	})
	return sent, received, err
}

// notifyLog records the NOTIFICATIONs gobgp logs ("sent notification",
// "received notification", with Code, Subcode and, for shutdowns,
// Communicated-Reason) and passes every record the inner handler wants
// on to it.
type notifyLog struct {
	inner slog.Handler
	rec   *notifyRecord
}

type notifyRecord struct {
	mu             sync.Mutex
	sent, received []Notification
}

func (h notifyLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.inner.Enabled(ctx, l)
}

func (h notifyLog) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Message == "sent notification" || rec.Message == "received notification" {
		n := Notification{At: rec.Time}
		rec.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "Code":
				n.Code = octet(a.Value)
			case "Subcode":
				n.Subcode = octet(a.Value)
			case "Communicated-Reason":
				n.Communication, _ = a.Value.Any().(string)
			case "Data":
				// sendNotification logs the error it sends as Data.
				if e, ok := a.Value.Any().(*bgp.MessageError); ok {
					n.Code, n.Subcode = e.TypeCode, e.SubTypeCode
				}
			}
			return true
		})
		h.rec.mu.Lock()
		if rec.Message == "sent notification" {
			h.rec.sent = append(h.rec.sent, n)
		} else {
			h.rec.received = append(h.rec.received, n)
		}
		h.rec.mu.Unlock()
	}
	if h.inner.Enabled(ctx, rec.Level) {
		return h.inner.Handle(ctx, rec)
	}
	return nil
}

// octet reads a logged uint8 (slog keeps it as a uint64).
func octet(v slog.Value) uint8 {
	switch v.Kind() {
	case slog.KindUint64:
		return uint8(v.Uint64())
	case slog.KindInt64:
		return uint8(v.Int64())
	}
	return 0
}

func (h notifyLog) WithAttrs(as []slog.Attr) slog.Handler {
	return notifyLog{inner: h.inner.WithAttrs(as), rec: h.rec}
}

func (h notifyLog) WithGroup(name string) slog.Handler {
	return notifyLog{inner: h.inner.WithGroup(name), rec: h.rec}
}
