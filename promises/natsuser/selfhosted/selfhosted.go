// Package selfhosted issues NATS user credentials for an account of a
// self-hosted NATS deployment in operator (JWT) mode, by signing user JWTs
// with the account's signing key, which the platform mounts from a Secret.
//
// Such an account keeps no list of users: a user exists only through the
// JWTs signed for it. There is nothing to create, update or delete, and a
// user's nkey seed is kept nowhere but in the credentials file it goes
// into. Each issue therefore mints a fresh nkey.
//
// Credentials cannot be revoked from here. NATS keeps revocations in the
// account JWT, which the operator (the platform) signs; a pipeline holding
// only the account signing key cannot change it. Credentials this package
// issued stay valid until they expire, which is why they always expire.
package selfhosted

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

// maxKeyFileBytes bounds the signing key file; a seed, decorated or not, is
// well under a kilobyte.
const maxKeyFileBytes = 16 << 10

// Signer signs user JWTs for one account. It implements backend.Backend.
//
// The signing key is read when credentials are issued and when a run
// checks that a recorded key is the user's (Vouches); it is wiped after
// each use.
type Signer struct {
	account string // the account's public key; "" when the key is the account's own
	keyFile string
}

// Open returns a signer for the account whose signing key (an nkey seed,
// bare or decorated as nsc writes it) is in keyFile. account is the
// account's public key; it may be empty when the key is the account's own
// identity key, which then signs users directly. The key file must exist;
// its content is checked when it is first used.
func Open(account, keyFile string) (*Signer, error) {
	if account != "" && !nkeys.IsValidPublicAccountKey(account) {
		return nil, fmt.Errorf("NATS account %q is not an account public key (those start with A)", account)
	}
	if _, err := os.Stat(keyFile); err != nil {
		return nil, fmt.Errorf("reading NATS account signing key: %w", err)
	}
	return &Signer{account: account, keyFile: keyFile}, nil
}

// signingKey reads the key and returns it with the issuer_account its JWTs
// carry ("" when it is the account's own key). The caller wipes the key.
func (s *Signer) signingKey() (key nkeys.KeyPair, issuerAccount string, err error) {
	info, err := os.Stat(s.keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("reading NATS account signing key: %w", err)
	}
	if info.Size() > maxKeyFileBytes {
		return nil, "", fmt.Errorf("NATS account signing key %s: larger than %d bytes, not an nkey seed", s.keyFile, maxKeyFileBytes)
	}
	data, err := os.ReadFile(s.keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("reading NATS account signing key: %w", err)
	}
	key, err = jwt.ParseDecoratedNKey(data)
	clear(data)
	if err != nil {
		// The parser's errors are generic; never quote the file.
		return nil, "", fmt.Errorf("NATS account signing key %s: no account nkey seed found", s.keyFile)
	}
	pub, err := key.PublicKey()
	if err != nil || !nkeys.IsValidPublicAccountKey(pub) {
		key.Wipe()
		return nil, "", fmt.Errorf("NATS account signing key %s: not an account key (account seeds start with SA)", s.keyFile)
	}
	if s.account == "" || s.account == pub {
		return key, "", nil
	}
	return key, s.account, nil
}

// FindUser returns the user an earlier run issued credentials to. Nothing
// outside is asked: the only record of the user is the caller's, and its
// key is the user's only if the proof kept with it says so (Vouch). A key
// without a proof that holds (kept by a release before proofs, signed by
// a signing key since rotated, or written by someone else) is returned
// with no KeyProof: the caller must not present it as the user's.
func (s *Signer) FindUser(ctx context.Context, ref backend.Ref) (*backend.User, error) {
	if ref.PublicKey == "" {
		return nil, nil
	}
	u := &backend.User{Name: ref.Name, PublicKey: ref.PublicKey, Origin: backend.Known}
	if ref.KeyProof == "" {
		return u, nil
	}
	ok, err := s.Vouches(ctx, ref.Name, ref.PublicKey, ref.KeyProof)
	if err != nil {
		return nil, err
	}
	if ok {
		u.KeyProof = ref.KeyProof
	}
	return u, nil
}

// Vouch signs, with the account's signing key, the statement that
// publicKey is a key of the user called name. Only the platform holds the
// signing key, so whoever can write a request's status cannot make one.
func (s *Signer) Vouch(_ context.Context, name, publicKey string) (string, error) {
	key, _, err := s.signingKey()
	if err != nil {
		return "", err
	}
	defer key.Wipe()
	sig, err := key.Sign(keyStatement(name, publicKey))
	if err != nil {
		return "", fmt.Errorf("vouching for the key of NATS user %q: %w", name, err)
	}
	return base64.RawURLEncoding.EncodeToString(sig), nil
}

// Vouches reports whether proof is the signing key's statement that
// publicKey is a key of the user called name.
func (s *Signer) Vouches(_ context.Context, name, publicKey, proof string) (bool, error) {
	sig, err := base64.RawURLEncoding.DecodeString(proof)
	if err != nil {
		return false, nil
	}
	key, _, err := s.signingKey()
	if err != nil {
		return false, err
	}
	defer key.Wipe()
	return key.Verify(keyStatement(name, publicKey), sig) == nil, nil
}

// keyStatement is what Vouch signs: a fixed context, then the user's name
// and key, so that the signature means nothing anywhere else.
func keyStatement(name, publicKey string) []byte {
	return []byte("promisekit natsuser: NATS user key\n" + name + "\n" + publicKey)
}

// CreateUser returns a user with no key yet: the first IssueCredentials
// mints it.
func (s *Signer) CreateUser(_ context.Context, name string, _ backend.Settings) (*backend.User, error) {
	return &backend.User{Name: name, Origin: backend.Created}, nil
}

// UpdateUser changes nothing: settings take effect in the next JWT signed.
func (s *Signer) UpdateUser(_ context.Context, u *backend.User, _ backend.Settings) (*backend.User, error) {
	return u, nil
}

// IssueCredentials mints a new user nkey and signs a JWT for it with
// settings, valid from now for settings.Lifetime. u's PublicKey is not
// reused: its seed was never kept.
func (s *Signer) IssueCredentials(_ context.Context, u *backend.User, settings backend.Settings, now time.Time) ([]byte, error) {
	if settings.Lifetime <= 0 {
		return nil, errors.New("self-hosted NATS credentials must expire: their revocation is out of this stage's reach")
	}
	userKey, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("creating an nkey for NATS user %q: %w", u.Name, err)
	}
	defer userKey.Wipe()
	pub, err := userKey.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("creating an nkey for NATS user %q: %w", u.Name, err)
	}
	key, issuerAccount, err := s.signingKey()
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	claims := userClaims(pub, u.Name, settings)
	claims.IssuerAccount = issuerAccount
	claims.Expires = now.Add(settings.Lifetime).Unix()
	token, err := claims.Encode(key)
	if err != nil {
		return nil, fmt.Errorf("signing the JWT of NATS user %q: %w", u.Name, err)
	}
	seed, err := userKey.Seed() // the key's own bytes, wiped with it
	if err != nil {
		return nil, fmt.Errorf("creating an nkey for NATS user %q: %w", u.Name, err)
	}
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		return nil, fmt.Errorf("writing the credentials of NATS user %q: %w", u.Name, err)
	}
	return creds, nil
}

// DeleteUser cannot revoke (see the package comment) and has nothing to
// remove; it reports exactly that.
func (s *Signer) DeleteUser(_ context.Context, u *backend.User) (backend.Deletion, error) {
	return backend.Deletion{Revoked: false, Existed: u.PublicKey != ""}, nil
}

// userClaims returns the claims of a user JWT carrying settings, with no
// issuer or expiry yet.
func userClaims(userPublicKey, name string, settings backend.Settings) *jwt.UserClaims {
	s := settings.Canonical()
	c := jwt.NewUserClaims(userPublicKey)
	c.Name = name
	c.Pub.Allow.Add(s.Publish.Allow...)
	c.Pub.Deny.Add(s.Publish.Deny...)
	c.Sub.Allow.Add(s.Subscribe.Allow...)
	c.Sub.Deny.Add(s.Subscribe.Deny...)
	if s.Responses != nil {
		c.Resp = &jwt.ResponsePermission{MaxMsgs: s.Responses.MaxMessages, Expires: s.Responses.TTL}
	}
	c.NatsLimits = jwt.NatsLimits{Subs: s.Limits.Subscriptions, Data: s.Limits.Data, Payload: s.Limits.Payload}
	return c
}
