package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/web"
)

// Authentication on the [http] listener. The operator's credentials
// ([http] token or basic authentication) make the operator viewer; a
// member's own token ([[member]] web_token_file) makes that member's
// viewer: as "Authorization: Bearer TOKEN", or, for a browser, through
// the sign-in form, which sets a session cookie (a random session id, not
// the token). Tokens are compared in constant time. Without operator
// credentials configured, a visitor without a token is the operator (the
// README and fedrs check say to configure them with member tokens).

const (
	// sessionCookie is the browser session's cookie.
	sessionCookie = "fedrs_session"
	// sessionLifetime is how long a browser session lasts from sign-in.
	sessionLifetime = 12 * time.Hour
	// maxSessions bounds the sessions kept; beyond it, the oldest goes.
	maxSessions = 10000
	// maxLoginForm bounds the sign-in form's body.
	maxLoginForm = 4 << 10
)

// auth authenticates the requests of one [http] listener.
type auth struct {
	a  *API
	hc conf.HTTP
	// opToken is the SHA-256 of the operator's bearer token (hasOpToken).
	opToken    [32]byte
	hasOpToken bool
	sessions   sessionStore
	// tokens are the members' tokens of the configuration in force,
	// computed again after a reload.
	tokens atomic.Pointer[tokenIndex]
}

func newAuth(a *API, hc conf.HTTP) *auth {
	au := &auth{a: a, hc: hc}
	if hc.TokenSecret != "" {
		au.opToken, au.hasOpToken = sha256.Sum256([]byte(hc.TokenSecret)), true
	}
	return au
}

// memberToken is one member's web token, hashed.
type memberToken struct {
	hash   [32]byte
	member int
	name   string
}

// tokenIndex is the members' tokens of one configuration.
type tokenIndex struct {
	cfg  *conf.Config
	list []memberToken
}

// memberTokens is the token index of the configuration in force.
func (au *auth) memberTokens() *tokenIndex {
	cfg := au.a.srv.Config()
	if ti := au.tokens.Load(); ti != nil && ti.cfg == cfg {
		return ti
	}
	ti := &tokenIndex{cfg: cfg}
	for i, m := range cfg.Members {
		if m.WebToken != "" {
			ti.list = append(ti.list, memberToken{hash: sha256.Sum256([]byte(m.WebToken)), member: i, name: m.Name})
		}
	}
	au.tokens.Store(ti)
	return ti
}

// find is the member whose token hashes to h, compared with every
// member's token in constant time.
func (ti *tokenIndex) find(h [32]byte, name string) (viewer, bool) {
	found := -1
	for i := range ti.list {
		eq := subtle.ConstantTimeCompare(h[:], ti.list[i].hash[:])
		if eq == 1 && (name == "" || ti.list[i].name == name) {
			found = i
		}
	}
	if found < 0 {
		return viewer{}, false
	}
	return viewer{member: ti.list[found].member, name: ti.list[found].name}, true
}

// operatorAuth reports whether the operator must authenticate.
func (au *auth) operatorAuth() bool { return au.hasOpToken || au.hc.BasicUser != "" }

// loginForm reports whether the sign-in form can sign anyone in: member
// tokens or an operator bearer token are configured.
func (au *auth) loginForm() bool { return au.hasOpToken || len(au.memberTokens().list) > 0 }

// basicOK checks the operator's basic credentials (both parts compared,
// always, so that the time does not tell which one was wrong).
func (au *auth) basicOK(user, pass string) bool {
	if au.hc.BasicUser == "" || au.hc.BasicPassword == "" {
		return false
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(au.hc.BasicUser))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(au.hc.BasicPassword))
	return u&p == 1
}

// token identifies a bearer token: the operator's or a member's.
func (au *auth) token(tok string) (viewer, bool) {
	h := sha256.Sum256([]byte(tok))
	if au.hasOpToken && subtle.ConstantTimeCompare(h[:], au.opToken[:]) == 1 {
		return operator, true
	}
	return au.memberTokens().find(h, "")
}

// identify is whom r speaks for on a route with rule. session tells
// whether a browser session says so. When !ok the request is answered
// (401, or a redirect to the sign-in form).
func (au *auth) identify(w http.ResponseWriter, r *http.Request, rule access) (v viewer, session, ok bool) {
	tokens := au.operatorAuth() || len(au.memberTokens().list) > 0
	if h := r.Header.Get("Authorization"); h != "" && tokens {
		if tok, isBearer := strings.CutPrefix(h, "Bearer "); isBearer {
			if v, ok := au.token(tok); ok {
				return v, false, true
			}
			au.unauthorized(w, r, errors.New("the bearer token is not valid (Authorization: Bearer TOKEN, the operator's or a member's web token)"))
			return viewer{}, false, false
		}
		if user, pass, isBasic := r.BasicAuth(); isBasic {
			if au.basicOK(user, pass) {
				return operator, false, true
			}
			au.unauthorized(w, r, errors.New("basic authentication failed"))
			return viewer{}, false, false
		}
		au.unauthorized(w, r, errors.New("unsupported Authorization header; use Bearer TOKEN or basic authentication"))
		return viewer{}, false, false
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if v, ok := au.session(c.Value); ok {
			return v, true, true
		}
	}
	switch {
	case !au.operatorAuth():
		return operator, false, true
	case rule == open:
		return nobody, false, true
	}
	au.unauthorized(w, r, nil)
	return viewer{}, false, false
}

// unauthorized answers a request without valid credentials: a browser
// asking for a page goes to the sign-in form; anything else gets 401.
func (au *auth) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil && !apiPath(r.URL.Path) && r.Method == http.MethodGet && au.loginForm() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	switch {
	case au.hasOpToken || (au.hc.BasicUser == "" && len(au.memberTokens().list) > 0):
		w.Header().Set("WWW-Authenticate", `Bearer realm="fedrs"`)
		if err == nil {
			err = errors.New("a bearer token is required (Authorization: Bearer TOKEN)")
		}
	default:
		w.Header().Set("WWW-Authenticate", `Basic realm="fedrs", charset="UTF-8"`)
		if err == nil {
			err = errors.New("basic authentication is required")
		}
	}
	writeErr(w, http.StatusUnauthorized, err)
}

// session is the viewer of a browser session id, if the session is
// current and the token it was signed in with still is.
func (au *auth) session(id string) (viewer, bool) {
	s, ok := au.sessions.get(id, time.Now())
	if !ok {
		return viewer{}, false
	}
	if s.member == "" {
		if au.hasOpToken && subtle.ConstantTimeCompare(s.token[:], au.opToken[:]) == 1 {
			return operator, true
		}
	} else if v, ok := au.memberTokens().find(s.token, s.member); ok {
		return v, true
	}
	// The token changed (a reload): the session ends.
	au.sessions.end(id)
	return viewer{}, false
}

// webSession is one browser session.
type webSession struct {
	// member is the member signed in; "" for the operator.
	member string
	// token is the SHA-256 of the token signed in with.
	token   [32]byte
	expires time.Time
}

// sessionStore holds the browser sessions by the SHA-256 of their id.
type sessionStore struct {
	mu sync.Mutex
	m  map[[32]byte]webSession
}

// start keeps s and returns its new id.
func (st *sessionStore) start(s webSession, now time.Time) string {
	var b [32]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	s.expires = now.Add(sessionLifetime)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m == nil {
		st.m = map[[32]byte]webSession{}
	}
	if len(st.m) >= maxSessions {
		var oldest [32]byte
		first := true
		for k, x := range st.m {
			if !x.expires.After(now) {
				delete(st.m, k)
			} else if first || x.expires.Before(st.m[oldest].expires) {
				oldest, first = k, false
			}
		}
		if len(st.m) >= maxSessions {
			delete(st.m, oldest)
		}
	}
	st.m[sha256.Sum256([]byte(id))] = s
	return id
}

func (st *sessionStore) get(id string, now time.Time) (webSession, bool) {
	k := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[k]
	if ok && !s.expires.After(now) {
		delete(st.m, k)
		return webSession{}, false
	}
	return s, ok
}

func (st *sessionStore) end(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, sha256.Sum256([]byte(id)))
}

// loginPage is the data of GET /login.
type loginPage struct {
	Title, Version string
	// Next is where to go once signed in; Error why the last attempt
	// failed; Basic offers the operator's basic authentication.
	Next, Error string
	Basic       bool
}

// register adds the sign-in routes.
func (au *auth) register(rt *routes) {
	rt.HandleFunc("GET /login", au.loginFormPage)
	rt.HandleFunc("POST /login", au.login)
	rt.HandleFunc("GET /logout", au.logout)
	rt.HandleFunc("POST /logout", au.logout)
}

func (au *auth) renderLogin(w http.ResponseWriter, status int, next, msg string) {
	web.Render(w, status, "login", loginPage{Title: "Sign in", Version: au.a.opts.Version, Next: next, Error: msg, Basic: au.hc.BasicUser != ""})
}

// loginFormPage serves GET /login: the form; with basic=1, the operator's
// basic authentication challenge.
func (au *auth) loginFormPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if r.URL.Query().Get("basic") == "1" && au.hc.BasicUser != "" {
		if user, pass, ok := r.BasicAuth(); ok && au.basicOK(user, pass) {
			http.Redirect(w, r, orDefault(next, "/"), http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="fedrs", charset="UTF-8"`)
		au.renderLogin(w, http.StatusUnauthorized, next, "Basic authentication is required for the operator.")
		return
	}
	au.renderLogin(w, http.StatusOK, next, "")
}

// login serves POST /login: a token from the form starts a session.
func (au *auth) login(w http.ResponseWriter, r *http.Request) {
	if err := sameOrigin(r); err != nil {
		au.renderLogin(w, http.StatusForbidden, "", err.Error())
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		au.renderLogin(w, http.StatusBadRequest, "", "The form could not be read: "+err.Error())
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	v, ok := au.token(tok)
	if tok == "" || !ok {
		au.renderLogin(w, http.StatusUnauthorized, next, "That token is not valid. Use the web token the route server's operator gave your team.")
		return
	}
	id := au.sessions.start(webSession{member: v.name, token: sha256.Sum256([]byte(tok))}, time.Now())
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", MaxAge: int(sessionLifetime / time.Second),
		HttpOnly: true, Secure: au.hc.Cert != "", SameSite: http.SameSiteStrictMode,
	})
	if next == "" {
		next = "/"
		if !v.all() {
			next = "/members/" + url.PathEscape(v.name)
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout serves GET and POST /logout: the session ends, the cookie goes.
func (au *auth) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		au.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: au.hc.Cert != "", SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// sameOrigin refuses a cross-site form post (CSRF). A browser sends
// Origin with a POST, "null" when the page's referrer policy (no-referrer,
// as every page here has) withholds it; a named origin must be this
// listener. With "null", the browser's Sec-Fetch-Site must say
// same-origin. Without Origin, Sec-Fetch-Site, if sent, must say
// same-origin (or none: typed by the user); clients that send neither
// (curl) are not browsers and carry no one's cookies.
func sameOrigin(r *http.Request) error {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	site := r.Header.Get("Sec-Fetch-Site")
	switch o := r.Header.Get("Origin"); {
	case o == "null":
		if site != "same-origin" {
			return fmt.Errorf("sign-in refused: the form was not sent from this looking glass (Origin null, Sec-Fetch-Site %q)", site)
		}
	case o != "":
		if o != scheme+"://"+r.Host {
			return fmt.Errorf("sign-in refused: the form was sent from %s, not from this looking glass (%s://%s)", o, scheme, r.Host)
		}
	case site != "" && site != "same-origin" && site != "none":
		return fmt.Errorf("sign-in refused: the form was sent from another site (Sec-Fetch-Site: %s)", site)
	}
	return nil
}

// safeNext is next if it is a path on this listener, else "".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
