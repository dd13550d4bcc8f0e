package session

import "github.com/fedrs/fedrs/routeserver/bgp"

// notificationBody encodes the NOTIFICATION body.
func notificationBody(n *bgp.Notification) []byte {
	return append([]byte{n.Code, n.Subcode}, n.Data...)
}

func parseNotification(body []byte) *bgp.Notification {
	n := &bgp.Notification{Code: body[0], Subcode: body[1]}
	if len(body) > 2 {
		n.Data = append([]byte(nil), body[2:]...)
	}
	return n
}
