package conf

import (
	"errors"
	"os/user"
)

// controlSockets checks the control sockets' keys: the read-only socket
// is not the admin one, and the groups they are handed to exist on this
// host (fedrs run would fail to hand them over).
func (v *validator) controlSockets(p path, s *Server) {
	if s.ControlGroup != "" {
		if err := groupExists(s.ControlGroup); err != nil {
			v.is.add(p.add("control_group"), "%v: create it (groupadd --system %s) or leave control_group unset for the daemon's own group", err, s.ControlGroup)
		}
	}
	if s.ControlReadonly == "" {
		if s.ControlReadonlyGroup != "" {
			v.is.add(p.add("control_readonly_group"), "has no effect without control_readonly; set control_readonly = \"/run/fedrs/fedrs-ro.sock\" or remove it")
		}
		return
	}
	if s.Control != "" && v.c.Path(s.ControlReadonly) == v.c.Path(s.Control) {
		v.is.add(p.add("control_readonly"), "%q is the admin control socket too: give the read-only socket its own path, e.g. \"/run/fedrs/fedrs-ro.sock\"", s.ControlReadonly)
	}
	g := s.ReadonlyGroup()
	if err := groupExists(g); err != nil {
		key := "control_readonly_group"
		if s.ControlReadonlyGroup == "" {
			key = "control_readonly"
		}
		v.is.add(p.add(key), "the read-only control socket's group %v: create it (groupadd --system %s) or name an existing group in control_readonly_group", err, g)
	}
}

// groupExists reports, as an error naming it, a group this host does not
// know.
func groupExists(name string) error {
	_, err := user.LookupGroup(name)
	var unknown user.UnknownGroupError
	if errors.As(err, &unknown) {
		return errors.New("group " + quote(name) + " does not exist on this host")
	}
	if err != nil {
		return errors.New("group " + quote(name) + ": " + err.Error())
	}
	return nil
}

func quote(s string) string { return "\"" + s + "\"" }
