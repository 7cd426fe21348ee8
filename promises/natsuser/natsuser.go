// Package natsuser is the stage of the natsuser Promise: it keeps one NATS
// user per NATSUser request, in Synadia Cloud or in a self-hosted NATS
// account, and delivers its credentials to the request's namespace as a
// SealedSecret.
//
// Kratix re-runs the stage on a schedule, and each run must leave the
// Secret exactly as it was unless new credentials are due: a changed
// Secret restarts every workload that mounts it, and a SealedSecret missing
// from the output deletes it. So the stage keeps, in the request's status,
// the user's public identity, when its credentials expire, a hash of the
// settings they carry and the sealed ciphertext, and nothing secret. Every
// run re-emits the stored ciphertext byte for byte; credentials are issued
// (and sealed) again only when none were issued yet, the settings changed,
// the user had to be created again, the sealing key or the target Secret
// changed, or the renewal point was reached.
package natsuser

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/sealing"
	"github.com/promisekit/promisekit/pkg/state"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

// Workflows are the stage's workflows, for kratix.Main.
func Workflows() kratix.Workflows {
	return kratix.Workflows{ResourceConfigure: Configure, ResourceDelete: Delete}
}

// StateKey is the top-level status key holding the stage's state.
const StateKey = "natsUser"

var stored = state.Codec[record]{Key: StateKey, Version: 1}

// record is what one run leaves for the next. All of it is public: the
// credentials exist only inside Sealed.
type record struct {
	Account       string `json:"account"`
	UserName      string `json:"userName"`
	UserID        string `json:"userId,omitempty"`
	UserPublicKey string `json:"userPublicKey"`
	// SettingsHash identifies the settings the current credentials carry.
	SettingsHash        string    `json:"settingsHash"`
	CredentialsIssuedAt time.Time `json:"credentialsIssuedAt"`
	CredentialsExpireAt time.Time `json:"credentialsExpireAt"`
	// CertificateSHA256 is the sealing certificate last used, for people;
	// whether the ciphertext still fits is decided by Sealed's key
	// fingerprint, which a renewed certificate for the same key keeps.
	CertificateSHA256 string         `json:"certificateSHA256"`
	Sealed            sealing.Record `json:"sealed"`
	// ReplacedKeys are earlier keys of this user whose credentials were
	// replaced but cannot be revoked from here and stay valid until they
	// expire (self-hosted accounts). The platform may revoke them in the
	// account JWT; they drop off this list once expired.
	ReplacedKeys []replacedKey `json:"replacedKeys,omitempty"`
}

type replacedKey struct {
	UserPublicKey string    `json:"userPublicKey"`
	ValidUntil    time.Time `json:"validUntil"`
}

// Status keys for people, next to StateKey; the CRD's printer columns show them.
const (
	statusAccount   = "account"
	statusSecret    = "secretName"
	statusExpiresAt = "credentialsExpireAt"
	statusRenewal   = "nextRenewal"
	statusNATSURL   = "natsURL"
)

// Configure makes the request's user exist with the requested settings and
// emits its SealedSecret.
func Configure(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
	if err := req.Object.CheckKind(natsUserAPIVersion, natsUserKind); err != nil {
		return nil, err
	}
	r, err := decodeRequest(req.Object)
	if err != nil {
		return nil, err
	}
	namespace, err := objectNamespace(req)
	if err != nil {
		return nil, err
	}
	prev, found, err := stored.Load(req.Object)
	if err != nil {
		return nil, err
	}
	if found && prev.Account != r.account {
		return nil, &kratix.FieldError{Field: "spec.account", Detail: fmt.Sprintf("cannot change from %q to %q: delete this request and create it again", prev.Account, r.account)}
	}
	cfg, err := loadConfig(req.Getenv)
	if err != nil {
		return nil, err
	}
	scope, _ := sealing.ParseScope(cfg.Sealing.Scope) // validated with the configuration
	cert, err := sealing.LoadCertificate(cfg.Sealing.Certificate, req.Now, cfg.Sealing.SHA256)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: mount the sealed-secrets controller's certificate there (or name it in config.sealing.certificate); there is no safe default", err)
	}
	if err != nil {
		return nil, err
	}
	acct, err := cfg.openAccount(r.account)
	if err != nil {
		return nil, err
	}
	if acct.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, acct.timeout)
		defer cancel()
	}

	name := userName(cfg.UserNamePrefix, namespace, req.Object.Metadata.Name)
	target := sealing.Target{Namespace: namespace, Name: r.secretName, Scope: scope}
	u, err := acct.backend.FindUser(ctx, backend.Ref{ID: prev.UserID, Name: name, PublicKey: prev.UserPublicKey})
	if err != nil {
		return nil, err
	}
	reason := issueReason(found, &prev, u, r, cert, target, req.Now)
	if req.Env.DryRun {
		return dryRun(found, &prev, u != nil, name, r, target, acct, reason)
	}

	next := prev
	if reason != "" {
		if next, err = issue(ctx, acct.backend, u, name, r, cert, target, req.Now); err != nil {
			return nil, settingsError(err, r)
		}
		next.ReplacedKeys = prev.ReplacedKeys
		if prev.UserPublicKey != "" && prev.UserPublicKey != next.UserPublicKey {
			next.ReplacedKeys = append(next.ReplacedKeys, replacedKey{UserPublicKey: prev.UserPublicKey, ValidUntil: prev.CredentialsExpireAt})
		}
	}
	next.CertificateSHA256 = cert.SHA256
	next.ReplacedKeys = stillValid(next.ReplacedKeys, req.Now)

	what := "credentials"
	if reason != "" {
		what = "new credentials (" + reason + ")"
	}
	res := &kratix.Result{Message: fmt.Sprintf("NATS user %s (account %s): %s in Secret %s, valid until %s, renewed from %s",
		name, r.account, what, r.secretName, stamp(next.CredentialsExpireAt), stamp(next.CredentialsExpireAt.Add(-r.renewBefore)))}
	if err := emit(res, next, r, acct); err != nil {
		return nil, err
	}
	return res, nil
}

// stillValid returns the replaced keys whose credentials have not expired
// at now.
func stillValid(keys []replacedKey, now time.Time) []replacedKey {
	var out []replacedKey
	for _, k := range keys {
		if now.Before(k.ValidUntil) {
			out = append(out, k)
		}
	}
	return out
}

// issueReason says why new credentials are due, or "" when the stored ones
// stay.
func issueReason(found bool, prev *record, u *backend.User, r *request, cert *sealing.Certificate, t sealing.Target, now time.Time) string {
	switch {
	case u != nil && u.Origin == backend.Adopted:
		return "user found by name"
	case !found || len(prev.Sealed.EncryptedData) == 0:
		return "first issue"
	case u == nil:
		return "user created again"
	case u.PublicKey != prev.UserPublicKey:
		return "the user's key changed"
	case prev.SettingsHash != r.settings.Hash():
		return "settings changed"
	case prev.Sealed.KeyFingerprint != cert.KeyFingerprint:
		return "sealing key changed"
	case !prev.Sealed.Fits(cert, t) || len(prev.Sealed.EncryptedData) != 1 || prev.Sealed.EncryptedData[r.secretKey] == "":
		return "Secret changed"
	case !now.Before(prev.CredentialsExpireAt.Add(-r.renewBefore)):
		return "renewal due"
	}
	return ""
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
		SettingsHash:        r.settings.Hash(),
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

// dryRun reports what a run would do and changes nothing: the stored
// SealedSecret, if any, is emitted as it is, so that a dry run does not
// delete it either.
func dryRun(found bool, prev *record, exists bool, name string, r *request, t sealing.Target, acct *account, reason string) (*kratix.Result, error) {
	res := &kratix.Result{}
	switch {
	case !exists:
		res.Message = fmt.Sprintf("dry run: would create NATS user %s in account %s and issue its credentials into Secret %s/%s", name, r.account, t.Namespace, r.secretName)
	case reason != "":
		res.Message = fmt.Sprintf("dry run: would issue new credentials for NATS user %s (%s)", name, reason)
	default:
		res.Message = fmt.Sprintf("dry run: NATS user %s is up to date", name)
	}
	if !found || len(prev.Sealed.EncryptedData) == 0 {
		return res, nil
	}
	if err := emit(res, *prev, r, acct); err != nil {
		return nil, err
	}
	return res, nil
}

// emit adds the SealedSecret and the status a run always writes.
func emit(res *kratix.Result, rec record, r *request, acct *account) error {
	manifest, err := sealing.Manifest(rec.Sealed, sealing.Template{
		Labels: map[string]string{"app.kubernetes.io/managed-by": "promisekit-natsuser"},
	})
	if err != nil {
		return err
	}
	res.Documents = []kratix.Document{{Object: manifest}}
	if err := stored.Store(res, rec); err != nil {
		return err
	}
	res.SetStatus(statusAccount, r.account)
	res.SetStatus(statusSecret, r.secretName)
	res.SetStatus(statusExpiresAt, stamp(rec.CredentialsExpireAt))
	res.SetStatus(statusRenewal, stamp(rec.CredentialsExpireAt.Add(-r.renewBefore)))
	if acct.config.NATSURL != "" {
		res.SetStatus(statusNATSURL, acct.config.NATSURL)
	}
	return nil
}

// Delete revokes the user's credentials where the account allows it and
// deletes the user. A user that is already gone is success, so deleting
// twice is too.
func Delete(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
	if err := req.Object.CheckKind(natsUserAPIVersion, natsUserKind); err != nil {
		return nil, err
	}
	prev, found, err := stored.Load(req.Object)
	if err != nil {
		return nil, err
	}
	namespace, err := objectNamespace(req)
	if err != nil {
		return nil, err
	}
	accountName := prev.Account
	if !found {
		// An earlier configure may have created the user and stopped
		// before it could record it: look for it by name.
		r, err := decodeRequest(req.Object)
		if err != nil {
			return &kratix.Result{Message: "nothing to delete: the request never passed validation"}, nil
		}
		accountName = r.account
	}
	cfg, err := loadConfig(req.Getenv)
	if err != nil {
		return nil, err
	}
	acct, err := cfg.openAccount(accountName)
	if err != nil {
		return nil, err
	}
	if acct.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, acct.timeout)
		defer cancel()
	}
	name := cmp.Or(prev.UserName, userName(cfg.UserNamePrefix, namespace, req.Object.Metadata.Name))
	u, err := acct.backend.FindUser(ctx, backend.Ref{ID: prev.UserID, Name: name, PublicKey: prev.UserPublicKey})
	if err != nil {
		return nil, err
	}
	switch {
	case u == nil:
		return &kratix.Result{Message: fmt.Sprintf("NATS user %s does not exist (any more): nothing to revoke or delete", name)}, nil
	case req.Env.DryRun:
		return &kratix.Result{Message: fmt.Sprintf("dry run: would revoke the credentials of NATS user %s and delete it", name)}, nil
	}
	d, err := acct.backend.DeleteUser(ctx, u)
	if err != nil {
		return nil, err
	}
	if d.Revoked {
		return &kratix.Result{Message: fmt.Sprintf("NATS user %s: credentials revoked, user deleted", name)}, nil
	}
	msg := fmt.Sprintf("NATS user %s: no longer renewed. Its credentials (key %s) stay valid until %s: this account's revocation list is part of its account JWT, which the platform signs",
		name, u.PublicKey, stamp(prev.CredentialsExpireAt))
	for _, k := range prev.ReplacedKeys {
		msg += fmt.Sprintf("; earlier key %s until %s", k.UserPublicKey, stamp(k.ValidUntil))
	}
	return &kratix.Result{Message: msg}, nil
}

// userName is the user's name in NATS, the same on every run. It is unique
// per request: a namespace name has no dots, so the first dot after the
// prefix ends it.
func userName(prefix, namespace, name string) string {
	return prefix + namespace + "." + name
}

func objectNamespace(req *kratix.Request) (string, error) {
	ns := req.Object.Metadata.Namespace
	if ns == "" {
		ns = req.Env.ObjectNamespace
	}
	if ns == "" {
		return "", errors.New("the request has no namespace: NATSUser is a namespaced resource")
	}
	return ns, nil
}

// stamp writes a time for status and messages.
func stamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
