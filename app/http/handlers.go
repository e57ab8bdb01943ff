package http

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/scaling-aws/scaling-aws/app"
)

const (
	sessionCookie = "session"
	// stickyCookie holds the Unix time (ms) until which the client reads
	// from the primary: read-your-own-writes without any server-side state.
	stickyCookie = "rw_until"
	minPassword  = 8
	maxPassword  = 72 // bcrypt ignores bytes past 72
	defaultLimit = 20
	maxLimit     = 100
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,64}$`)

type credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (c credentials) validate() error {
	if !nameRE.MatchString(c.Name) {
		return app.Errorf(app.EINVALID, "name must be 3 to 64 letters, digits, '_', '.' or '-'")
	}
	return checkPassword(c.Password)
}

func (s *Server) signUp(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := decode(w, r, &c); err != nil {
		s.Error(w, r, err)
		return
	}
	if err := c.validate(); err != nil {
		s.Error(w, r, err)
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(c.Password), s.BcryptCost)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	u := &app.User{Name: c.Name, PasswordHash: hash}
	if err := s.Users.CreateUser(r.Context(), u); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

type sessionView struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	UserID    int64     `json:"user_id"`
}

func (s *Server) logIn(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := decode(w, r, &c); err != nil {
		s.Error(w, r, err)
		return
	}
	denied := app.Errorf(app.EUNAUTHORIZED, "invalid name or password")
	u, err := s.Users.UserByName(r.Context(), c.Name)
	if app.ErrorCode(err) == app.ENOTFOUND {
		// Verify against a hash of the same cost as real ones, so that an
		// unknown name takes as long to refuse as a wrong password and
		// names cannot be told apart by timing.
		s.verify(s.dummyHash, []byte(c.Password))
		s.Error(w, r, denied)
		return
	} else if err != nil {
		s.Error(w, r, err)
		return
	}
	if s.verify(u.PasswordHash, []byte(c.Password)) != nil {
		s.Error(w, r, denied)
		return
	}
	b := make([]byte, 32)
	rand.Read(b)
	sess := &app.Session{Token: base64.RawURLEncoding.EncodeToString(b), UserID: u.ID,
		ExpiresAt: s.Now().Add(s.SessionTTL).UTC().Truncate(time.Second)}
	if err := s.sessions.CreateSession(r.Context(), sess); err != nil {
		s.Error(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	writeJSON(w, http.StatusCreated, sessionView{Token: sess.Token, ExpiresAt: sess.ExpiresAt, UserID: u.ID})
}

func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && h[:7] == "Bearer " {
		return h[7:]
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// authenticate returns the session of the request, or EUNAUTHORIZED.
func (s *Server) authenticate(r *http.Request) (*app.Session, error) {
	t := token(r)
	if t == "" {
		return nil, app.Errorf(app.EUNAUTHORIZED, "log in first: no session token")
	}
	return s.sessions.Session(r.Context(), t)
}

func (s *Server) logOut(w http.ResponseWriter, r *http.Request) {
	if t := token(r); t != "" {
		if err := s.sessions.DeleteSession(r.Context(), t); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	sess, err := s.authenticate(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"user_id": sess.UserID})
}

// wrote marks the client as having just written, so its next reads go to
// the primary until replicas have caught up.
func (s *Server) wrote(w http.ResponseWriter) {
	until := s.Now().Add(s.StickyFor)
	http.SetCookie(w, &http.Cookie{Name: stickyCookie, Value: strconv.FormatInt(until.UnixMilli(), 10),
		Path: "/", Expires: until, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// readContext routes the request's reads to the primary while its client's
// sticky window is open. A forged far-future value is ignored.
func (s *Server) readContext(r *http.Request) context.Context {
	c, err := r.Cookie(stickyCookie)
	if err != nil {
		return r.Context()
	}
	ms, err := strconv.ParseInt(c.Value, 10, 64)
	now := s.Now()
	if err != nil || ms < now.UnixMilli() || ms > now.Add(s.StickyFor).UnixMilli() {
		return r.Context()
	}
	return app.WithPrimary(r.Context())
}

type postInput struct {
	Body *string `json:"body"`
}

func (in postInput) validate() error {
	switch {
	case in.Body == nil || *in.Body == "":
		return app.Errorf(app.EINVALID, "body is required")
	case len(*in.Body) > app.MaxPostBytes:
		return app.Errorf(app.ETOOLARGE, "body is %d bytes, the limit is %d", len(*in.Body), app.MaxPostBytes)
	case !utf8.ValidString(*in.Body):
		return app.Errorf(app.EINVALID, "body must be UTF-8 text")
	}
	return nil
}

// writeInput authenticates a write and decodes its JSON body, in that order,
// so that an anonymous client learns nothing from validation.
func (s *Server) writeInput(w http.ResponseWriter, r *http.Request, in *postInput) (*app.Session, error) {
	sess, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	if err := decode(w, r, in); err != nil {
		return nil, err
	}
	return sess, in.validate()
}

func (s *Server) createPost(w http.ResponseWriter, r *http.Request) {
	var in postInput
	sess, err := s.writeInput(w, r, &in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p := &app.Post{UserID: sess.UserID, Body: *in.Body}
	if err := s.Posts.CreatePost(r.Context(), p); err != nil {
		s.Error(w, r, err)
		return
	}
	s.wrote(w)
	w.Header().Set("Location", "/api/posts/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) getPost(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p, err := s.Posts.Post(s.readContext(r), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if s.Views != nil {
		// Counted once the post is known to exist; the count is left out,
		// never waited for, when the counter cannot tell it in time.
		s.Views.View(id)
		if n, ok := s.Views.Views(r.Context(), id); ok {
			writeJSON(w, http.StatusOK, viewedPost{p, n})
			return
		}
	}
	writeJSON(w, http.StatusOK, p)
}

// viewedPost is a post with its view count, {...the post's fields, "views": N}.
type viewedPost struct {
	*app.Post
	Views int64 `json:"views"`
}

func (s *Server) listPosts(w http.ResponseWriter, r *http.Request) {
	uid, err := pathID(r, "id")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	var cursor int64
	if v := q.Get("cursor"); v != "" {
		if cursor, err = positive("cursor", v); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxLimit {
			s.Error(w, r, app.Errorf(app.EINVALID, "limit must be an integer from 1 to %d", maxLimit))
			return
		}
	}
	page, err := s.Posts.PostsByUser(s.readContext(r), uid, cursor, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// latestPosts answers GET /api/posts?limit=: the newest posts of all users.
func (s *Server) latestPosts(w http.ResponseWriter, r *http.Request) {
	limit := defaultLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxLimit {
			s.Error(w, r, app.Errorf(app.EINVALID, "limit must be an integer from 1 to %d", maxLimit))
			return
		}
	}
	posts, err := s.Latest.LatestPosts(r.Context(), limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Posts []*app.Post `json:"posts"`
	}{posts})
}

func (s *Server) updatePost(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var in postInput
	sess, err := s.writeInput(w, r, &in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p := &app.Post{ID: id, UserID: sess.UserID, Body: *in.Body}
	if err := s.Posts.UpdatePost(r.Context(), p); err != nil {
		s.Error(w, r, err)
		return
	}
	s.wrote(w)
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) deletePost(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	sess, err := s.authenticate(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.Posts.DeletePost(r.Context(), id, sess.UserID); err != nil {
		s.Error(w, r, err)
		return
	}
	s.wrote(w)
	w.WriteHeader(http.StatusNoContent)
}

var errNoPhotos = app.Errorf(app.ENOTFOUND, "photos are not enabled on this deployment (no object store)")
