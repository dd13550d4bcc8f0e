package history

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Reader answers questions from a history database. It opens the file
// read-only and works while a route server writes it (WAL readers see the
// last commit).
type Reader struct {
	db   *sql.DB
	path string
}

// OpenReader opens the history database at path read-only. Errors name
// the file and the problem: missing, unreadable, not SQLite, another
// application's database, a newer schema.
func OpenReader(path string) (*Reader, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file (history is written where [server] history points, by a running fedrs)", path)
	case err != nil:
		return nil, fmt.Errorf("%s: cannot read: %w", path, err)
	case st.IsDir():
		return nil, fmt.Errorf("%s: is a directory, not a history database file", path)
	case st.Size() == 0:
		return nil, fmt.Errorf("%s: %w: the file is empty", path, ErrNotHistory)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read: %w", path, errors.Unwrap(err))
	}
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	f.Close()
	if !bytes.Equal(head[:n], []byte("SQLite format 3\x00")) {
		return nil, fmt.Errorf("%s: %w: the file is not a SQLite database (it starts with %q)", path, ErrNotHistory, printable(head[:n]))
	}
	db, err := sql.Open("sqlite", dsn(path, "ro", "busy_timeout(10000)", "query_only(1)"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, describeOpenError(path, err)
	}
	version, empty, err := checkIdentity(ctx, db, path)
	if err == nil && empty {
		err = fmt.Errorf("%s: %w: the SQLite database has no tables", path, ErrNotHistory)
	}
	if err == nil && version < SchemaVersion {
		err = fmt.Errorf("%s: schema version %d is older than this fedrs reads (%d): start fedrs run with it once to migrate it", path, version, SchemaVersion)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Reader{db: db, path: path}, nil
}

func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
		} else {
			out = append(out, '.')
		}
	}
	return string(out)
}

// Close closes the database.
func (r *Reader) Close() error { return r.db.Close() }

// Path returns the database file.
func (r *Reader) Path() string { return r.path }

func (r *Reader) wrap(err error) error {
	if err == nil {
		return nil
	}
	return describeOpenError(r.path, err)
}

// Members lists the member names the database knows.
func (r *Reader) Members(ctx context.Context) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT name FROM members ORDER BY name")
	if err != nil {
		return nil, r.wrap(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, r.wrap(err)
		}
		out = append(out, n)
	}
	return out, r.wrap(rows.Err())
}

func (r *Reader) memberID(ctx context.Context, name string) (int64, error) {
	var id int64
	err := r.db.QueryRowContext(ctx, "SELECT id FROM members WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		names, _ := r.Members(ctx)
		if len(names) > 12 {
			names = append(names[:12:12], "...")
		}
		return 0, fmt.Errorf("%w: %q (members recorded: %s)", ErrUnknownMember, name, strings.Join(names, ", "))
	}
	return id, r.wrap(err)
}

// Info summarises the database.
type Info struct {
	Path          string    `json:"path"`
	SchemaVersion int       `json:"schema_version"`
	Routes        int64     `json:"route_versions"`
	Open          int64     `json:"open_route_versions"`
	Members       int64     `json:"members"`
	Sessions      int64     `json:"sessions"`
	Runs          int64     `json:"runs"`
	LastSeen      time.Time `json:"last_seen"`
}

// Info returns counts and the last time the writer was seen.
func (r *Reader) Info(ctx context.Context) (Info, error) {
	in := Info{Path: r.path}
	var last sql.NullInt64
	err := r.db.QueryRowContext(ctx, `SELECT (SELECT MAX(version) FROM schema_version), (SELECT COUNT(*) FROM routes),
		(SELECT COUNT(*) FROM routes WHERE valid_to IS NULL), (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM sessions),
		(SELECT COUNT(*) FROM runs), (SELECT MAX(last_seen) FROM runs)`).Scan(&in.SchemaVersion, &in.Routes, &in.Open, &in.Members, &in.Sessions, &in.Runs, &last)
	if last.Valid {
		in.LastSeen = time.UnixMicro(last.Int64)
	}
	return in, r.wrap(err)
}
