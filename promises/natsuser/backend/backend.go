// Package backend defines what the natsuser stage asks of the system that
// holds NATS users, and the values that pass between them.
//
// Two systems implement it: Synadia Cloud, which keeps users, their nkeys
// and their settings, and mints credentials on request; and a self-hosted
// NATS account, whose signing key the platform mounts into the pipeline and
// which keeps no users at all: every set of credentials is a fresh nkey and
// a user JWT signed on the spot.
package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// ErrScopedSigningKey is returned when settings set permissions or limits
// but the key that signs the user is scoped: its scope sets them instead.
var ErrScopedSigningKey = errors.New("permissions and limits come from the signing key's scope and cannot be set per user")

// NotThisUserError is returned when what an earlier run recorded names a
// user other than the one asked for: a request's status is not trusted to
// name an outside object, so the object's own identity is checked first.
type NotThisUserError struct {
	// Field is the Ref field that named the other user: "ID" or
	// "PublicKey".
	Field string
	// Detail says what the backend found there.
	Detail string
}

func (e *NotThisUserError) Error() string { return e.Detail }

// Backend is a place NATS users live. Methods that change nothing outside
// say so; the others are called only when a change is due, never in a dry
// run.
type Backend interface {
	// FindUser returns the user ref points at: by its ID when it has one,
	// else by exact name. It returns nil, nil when there is none, and more
	// than one user of that name is an error. A user found by ID or key
	// whose name or proof is not ref's is a *NotThisUserError. It changes
	// nothing.
	FindUser(ctx context.Context, ref Ref) (*User, error)
	// CreateUser creates a user with the given name and settings. Its
	// Origin is Created.
	CreateUser(ctx context.Context, name string, s Settings) (*User, error)
	// UpdateUser makes the user's settings s, for credentials issued from
	// now on.
	UpdateUser(ctx context.Context, u *User, s Settings) (*User, error)
	// IssueCredentials returns a new NATS credentials file (user JWT and
	// nkey seed) for u. Backends that sign locally sign it with settings s,
	// valid from now for s.Lifetime; the others use the settings they hold.
	IssueCredentials(ctx context.Context, u *User, s Settings, now time.Time) ([]byte, error)
	// DeleteUser stops u's credentials from working where the backend can,
	// then removes the user. A user that is already gone is not an error.
	DeleteUser(ctx context.Context, u *User) (Deletion, error)
	// Vouch returns a proof that publicKey, whose credentials the backend
	// just issued, is the key of the user called name, for the caller to
	// keep with the key (User.KeyProof); "" from a backend that holds its
	// users and can be asked. It changes nothing.
	Vouch(ctx context.Context, name, publicKey string) (string, error)
	// Vouches reports whether proof shows publicKey to be (or to have
	// been) a key of the user called name. It changes nothing.
	Vouches(ctx context.Context, name, publicKey, proof string) (bool, error)
}

// Ref is what an earlier run knows about a user. Only Name is derived from
// the request; the rest comes from its status and is checked before use.
type Ref struct {
	ID        string // the backend's ID; empty when the backend has none
	Name      string
	PublicKey string // the user's nkey, once credentials were issued
	// KeyProof is what the backend said, when it issued PublicKey, to
	// show later that the key is Name's (see User.KeyProof).
	KeyProof string
}

// Origin says how a user was found.
type Origin int

const (
	// Known users were found where the stored state said.
	Known Origin = iota
	// Adopted users were found by name only: an earlier run created them
	// and stopped before it could record their ID.
	Adopted
	// Created users were created in this run.
	Created
)

// User is a NATS user as its backend knows it.
type User struct {
	ID        string
	Name      string
	PublicKey string // empty until the first credentials of a self-hosted user
	// Settings are the settings the backend holds for the user, nil when
	// it holds none (self-hosted: they exist only inside the JWTs it signs).
	Settings *Settings
	Origin   Origin
	// KeyProof lets a later run check that PublicKey is this user's,
	// where the backend cannot tell by asking (a self-hosted account
	// keeps no users): the caller keeps it with the key, and FindUser
	// checks it. Empty where the backend holds the user itself.
	KeyProof string
}

// Deletion reports what DeleteUser could do.
type Deletion struct {
	// Revoked is true when every credential issued to the user stopped
	// working. Self-hosted accounts cannot: their revocation list is part
	// of the account JWT, which the platform signs, not this stage.
	Revoked bool
	// Existed is false when the user was already gone.
	Existed bool
}

// Settings are a user's permissions and limits and the lifetime of its
// credentials: everything that goes into its JWT besides identity.
type Settings struct {
	Publish   Permission `json:"publish"`
	Subscribe Permission `json:"subscribe"`
	// Responses, when set, lets the user publish replies to requests it
	// received, whatever Publish says.
	Responses *Responses `json:"responses,omitempty"`
	Limits    Limits     `json:"limits"`
	// Lifetime is how long credentials are valid once issued.
	Lifetime time.Duration `json:"lifetime"`
}

// Permission lists subjects allowed and denied.
type Permission struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// Responses are response permissions: how many replies the user may send
// to one request, and for how long.
type Responses struct {
	MaxMessages int           `json:"maxMessages"`
	TTL         time.Duration `json:"ttl"`
}

// NoLimit is a limit's value for "unlimited", as NATS JWTs write it.
const NoLimit = -1

// Limits bound a user's connection; NoLimit lifts a bound.
type Limits struct {
	Subscriptions int64 `json:"subscriptions"`
	Data          int64 `json:"data"`    // bytes per connection
	Payload       int64 `json:"payload"` // bytes per message
}

// Restricted reports whether s sets any permission or limit. A Synadia
// signing key group with a scope forbids both.
func (s Settings) Restricted() bool {
	return len(s.Publish.Allow)+len(s.Publish.Deny)+len(s.Subscribe.Allow)+len(s.Subscribe.Deny) > 0 ||
		s.Responses != nil ||
		s.Limits != Limits{Subscriptions: NoLimit, Data: NoLimit, Payload: NoLimit}
}

// Canonical returns s with subject lists sorted and free of duplicates and
// empty lists as nil, so that equal settings compare and hash equal
// whatever order a request or an API listed them in.
func (s Settings) Canonical() Settings {
	s.Publish = s.Publish.canonical()
	s.Subscribe = s.Subscribe.canonical()
	if s.Responses != nil {
		r := *s.Responses
		s.Responses = &r
	}
	return s
}

func (p Permission) canonical() Permission {
	return Permission{Allow: sortedSet(p.Allow), Deny: sortedSet(p.Deny)}
}

func sortedSet(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// Equal reports whether s and o are the same settings.
func (s Settings) Equal(o Settings) bool {
	return s.Hash() == o.Hash()
}

// Hash identifies the canonical settings: a stored hash that differs from
// the request's means the user's JWT must be signed again.
func (s Settings) Hash() string {
	js, err := json.Marshal(s.Canonical())
	if err != nil {
		panic("backend: settings do not encode: " + err.Error()) // plain data always encodes
	}
	sum := sha256.Sum256(js)
	return "sha256:" + hex.EncodeToString(sum[:])
}
