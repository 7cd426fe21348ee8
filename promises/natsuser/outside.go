package natsuser

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/pkg/sealing"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
	"github.com/promisekit/promisekit/promises/natsuser/selfhosted"
	"github.com/promisekit/promisekit/promises/natsuser/synadia"
)

// Outside is how the stage reaches NATS accounts. Both kinds are opened
// from the platform configuration: a self-hosted account signs with the
// key file it names, a Synadia Cloud account is reached over the HTTP API
// at the URL it names (tests point it at a fake that follows Synadia's
// OpenAPI spec). The zero value is the real thing, except for Overlays.
type Outside struct {
	// Overlays runs the platform's overlays: main runs them in the
	// sibling binary (overlays.Sibling), since this one does not link ytt.
	Overlays overlays.Runner
}

// open opens the backend of the account called name.
func (Outside) open(cfg *Config, name string, a AccountConfig) (backend.Backend, error) {
	if a.SelfHosted != nil {
		s, err := selfhosted.Open(a.SelfHosted.AccountPublicKey, a.SelfHosted.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", name, err)
		}
		return s, nil
	}
	s := cfg.Synadia // validate has checked every duration
	client, err := synadia.Open(synadia.Options{
		URL:             s.URL,
		TokenFile:       cmp.Or(s.TokenFile, DefaultTokenPath),
		AccountID:       a.Synadia.AccountID,
		SigningKeyGroup: a.Synadia.SigningKeyGroup,
		AttemptTimeout:  s.AttemptTimeout.Or(0),
		Attempts:        s.Attempts,
		Backoff:         synadia.Backoff{Initial: s.BackoffInitial.Or(0), Max: s.BackoffMax.Or(0)},
	})
	if err != nil {
		return nil, fmt.Errorf("account %q: %w", name, err)
	}
	return client, nil
}

// Act makes the request's user exist with the requested settings, issues
// credentials when they are due, and returns the SealedSecret.
func (p *configurePlan) Act(ctx context.Context, o Outside) (*kratix.Result, error) {
	in, r, prev := p.in, p.r, &p.in.State
	cfg := in.Config
	cert, err := p.dest.certificate(in.Now, cfg.Sealing.RetiredKeys)
	if err != nil {
		return nil, err
	}
	b, u, err := o.user(ctx, cfg, r.account, p.account, p.name, prev)
	if err != nil {
		return nil, err
	}
	reason := issueReason(in.Found, prev, u, r, cfg.Sealing.RetiredKeys, p.target, in.Now)
	if reason == "" && u != nil && prev.UserKeyProof != "" && u.KeyProof == "" {
		// The backend does not vouch for the recorded key: written by
		// someone else, or signed by a signing key the platform has since
		// replaced. Fresh credentials are the request's own either way.
		reason = "the recorded key is not one the account vouches for"
	}
	if reason == "" {
		reason = moveReason(in.Found, prev, &p.dest, cert)
	}
	if in.Env.DryRun {
		return p.dryRun(u != nil, reason)
	}
	next := *prev
	if reason != "" {
		if next, err = issue(ctx, b, u, p.name, r, cert, p.target, in.Now); err != nil {
			return nil, settingsError(err, r)
		}
		next.ReplacedKeys = prev.ReplacedKeys
		// Only a key the backend vouches for is listed: the platform may
		// revoke what this list names.
		if u != nil && u.KeyProof != "" && u.PublicKey == prev.UserPublicKey && prev.UserPublicKey != next.UserPublicKey {
			next.ReplacedKeys = append(next.ReplacedKeys, replacedKey{UserPublicKey: prev.UserPublicKey, ValidUntil: prev.CredentialsExpireAt, KeyProof: u.KeyProof})
		}
	}
	next.ReplacedKeys = stillValid(next.ReplacedKeys, in.Now)
	next.Destination = p.dest.name
	return p.result(next, reason)
}

// issue creates the user if there is none, brings its settings up to date
// where the backend keeps them, and seals a new credentials file.
func issue(ctx context.Context, b backend.Backend, u *backend.User, name string, r *request, cert *sealing.Certificate, t sealing.Target, now time.Time) (record, error) {
	var err error
	if u == nil {
		if u, err = b.CreateUser(ctx, name, r.settings); err != nil {
			return record{}, err
		}
	}
	if u.Settings != nil && !u.Settings.Equal(r.settings) {
		if u, err = b.UpdateUser(ctx, u, r.settings); err != nil {
			return record{}, err
		}
	}
	creds, err := b.IssueCredentials(ctx, u, r.settings, now)
	if err != nil {
		return record{}, err
	}
	defer clear(creds)
	info, err := backend.InspectCredentials(creds)
	if err != nil {
		return record{}, fmt.Errorf("NATS user %q: %w", name, err)
	}
	proof, err := b.Vouch(ctx, name, info.UserPublicKey)
	if err != nil {
		return record{}, err
	}
	switch {
	case info.ExpiresAt.IsZero():
		return record{}, fmt.Errorf("NATS user %q: the credentials issued never expire; they must, to be renewed and to end", name)
	case !now.Before(info.ExpiresAt.Add(-r.renewBefore)):
		// Renewing now would renew on every run, changing the Secret each time.
		return record{}, fmt.Errorf("NATS user %q: the credentials issued expire at %s, within spec.credentials.renewBefore (%s) of now: lower renewBefore, or raise the account's maximum lifetime", name, stamp(info.ExpiresAt), formatDuration(r.renewBefore))
	}
	sealed, err := sealing.Seal(rand.Reader, cert, t, map[string][]byte{r.secretKey: creds})
	if err != nil {
		return record{}, err
	}
	return record{
		Account:             r.account,
		UserName:            name,
		UserID:              u.ID,
		UserPublicKey:       info.UserPublicKey,
		UserKeyProof:        proof,
		SettingsHash:        r.settings.Hash(),
		CertificateSHA256:   cert.SHA256,
		CredentialsIssuedAt: info.IssuedAt,
		CredentialsExpireAt: info.ExpiresAt,
		Sealed:              sealed,
	}, nil
}

// settingsError turns a backend's refusal of the request's settings into an
// error on the request's field.
func settingsError(err error, r *request) error {
	if !errors.Is(err, backend.ErrScopedSigningKey) {
		return err
	}
	field := "spec"
	switch s := r.settings; {
	case len(s.Publish.Allow)+len(s.Publish.Deny) > 0:
		field = "spec.publish"
	case len(s.Subscribe.Allow)+len(s.Subscribe.Deny) > 0:
		field = "spec.subscribe"
	case s.Responses != nil:
		field = "spec.responses"
	default:
		field = "spec.limits"
	}
	return &kratix.FieldError{Field: field, Detail: fmt.Sprintf("account %q does not allow it: %s", r.account, err)}
}

// Act revokes the user's credentials where the account allows it and
// deletes the user. A user that is already gone is success, so deleting
// twice is too.
func (p *deletePlan) Act(ctx context.Context, o Outside) (*kratix.Result, error) {
	in, prev := p.in, &p.in.State
	b, u, err := o.user(ctx, in.Config, p.accountName, p.account, p.name, prev)
	if err != nil {
		return nil, err
	}
	switch {
	case u == nil:
		return &kratix.Result{Message: fmt.Sprintf("NATS user %s does not exist (any more): nothing to revoke or delete", p.name)}, nil
	case in.Env.DryRun:
		return &kratix.Result{Message: fmt.Sprintf("dry run: would revoke the credentials of NATS user %s and delete it", p.name)}, nil
	}
	d, err := b.DeleteUser(ctx, u)
	if err != nil {
		return nil, err
	}
	return p.result(u, d), nil
}

// user opens the account and finds the user the state names, keeping in
// prev only the replaced keys the backend vouches for.
func (o Outside) user(ctx context.Context, cfg *Config, accountName string, account AccountConfig, name string, prev *record) (backend.Backend, *backend.User, error) {
	b, err := o.open(cfg, accountName, account)
	if err != nil {
		return nil, nil, err
	}
	u, err := findUser(ctx, b, name, prev)
	if err != nil {
		return nil, nil, err
	}
	if prev.ReplacedKeys, err = vouched(ctx, b, name, prev.ReplacedKeys); err != nil {
		return nil, nil, err
	}
	return b, u, nil
}

// findUser finds the user the state names, as the backend knows it. A
// user ID in the state that belongs to another user is refused, naming the
// status field: the state is the request's, which whoever can write its
// status can forge.
func findUser(ctx context.Context, b backend.Backend, name string, prev *record) (*backend.User, error) {
	u, err := b.FindUser(ctx, backend.Ref{ID: prev.UserID, Name: name, PublicKey: prev.UserPublicKey, KeyProof: prev.UserKeyProof})
	var other *backend.NotThisUserError
	if errors.As(err, &other) {
		field := map[string]string{"ID": "userId", "PublicKey": "userPublicKey"}[other.Field]
		return nil, &kratix.FieldError{Field: "status." + StateKey + "." + field, Detail: other.Detail + ": not this request's user"}
	}
	return u, err
}

// vouched returns the keys the backend vouches for as keys of the user
// called name; the rest were not written by this stage.
func vouched(ctx context.Context, b backend.Backend, name string, keys []replacedKey) ([]replacedKey, error) {
	var out []replacedKey
	for _, k := range keys {
		ok, err := b.Vouches(ctx, name, k.UserPublicKey, k.KeyProof)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, k)
		}
	}
	return out, nil
}
