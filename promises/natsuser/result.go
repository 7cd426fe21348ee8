package natsuser

import (
	"cmp"
	"fmt"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/sealing"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

// Status keys for people, next to StateKey; the CRD's printer columns show them.
const (
	statusAccount   = "account"
	statusSecret    = "secretName"
	statusExpiresAt = "credentialsExpireAt"
	statusRenewal   = "nextRenewal"
	statusNATSURL   = "natsURL"
	// statusSealingKey is the fingerprint of the key the Secret's current
	// ciphertext was sealed with, which a newer certificate does not
	// change until credentials are issued again.
	statusSealingKey = "sealingKey"
	// statusDestination is the destination the Secret is placed on, when
	// config.destinations lists them.
	statusDestination = "destination"
)

// result is a configure run's result once next is what the status keeps;
// reason is why credentials were issued, "" if they were not.
func (p *configurePlan) result(next record, reason string) (*kratix.Result, error) {
	r := p.r
	what := "credentials"
	if reason != "" {
		what = "new credentials (" + reason + ")"
	}
	where := ""
	if p.dest.name != "" {
		where = " on destination " + p.dest.name
	}
	res := &kratix.Result{Message: fmt.Sprintf("NATS user %s (account %s): %s in Secret %s%s, valid until %s, renewed from %s",
		p.name, r.account, what, r.secretName, where, stamp(next.CredentialsExpireAt), stamp(next.CredentialsExpireAt.Add(-r.renewBefore)))}
	if err := p.emit(res, next); err != nil {
		return nil, err
	}
	return res, nil
}

// dryRun reports what a run would do and changes nothing: the stored
// SealedSecret, if any, is emitted as it is, so that a dry run does not
// delete it either.
func (p *configurePlan) dryRun(exists bool, reason string) (*kratix.Result, error) {
	r, prev := p.r, &p.in.State
	res := &kratix.Result{}
	switch {
	case !exists:
		res.Message = fmt.Sprintf("dry run: would create NATS user %s in account %s and issue its credentials into Secret %s/%s", p.name, r.account, p.target.Namespace, r.secretName)
	case reason != "":
		res.Message = fmt.Sprintf("dry run: would issue new credentials for NATS user %s (%s)", p.name, reason)
	default:
		res.Message = fmt.Sprintf("dry run: NATS user %s is up to date", p.name)
	}
	if !p.in.Found || len(prev.Sealed.EncryptedData) == 0 {
		return res, nil
	}
	if err := p.emit(res, *prev); err != nil {
		return nil, err
	}
	return res, nil
}

// emit adds the SealedSecret and the status a run always writes.
func (p *configurePlan) emit(res *kratix.Result, rec record) error {
	r := p.r
	manifest, err := sealing.Manifest(rec.Sealed, sealing.Template{
		Labels: map[string]string{"app.kubernetes.io/managed-by": "promisekit-natsuser"},
	})
	if err != nil {
		return err
	}
	// A destination's documents go in a directory of its name, with a
	// selector of their own: Kratix moves a workload group to another
	// destination only when the group changes (another directory), and
	// leaves a group whose selector changed where it is, "misplaced".
	res.Documents = []kratix.Document{{Directory: p.dest.name, Object: manifest}}
	if p.dest.name != "" {
		res.DestinationSelectors = []kratix.DestinationSelector{{Directory: p.dest.name, MatchLabels: p.dest.labels}}
	}
	if err := stateCodec.Store(res, rec); err != nil {
		return err
	}
	res.SetStatus(statusAccount, r.account)
	res.SetStatus(statusSecret, r.secretName)
	res.SetStatus(statusExpiresAt, stamp(rec.CredentialsExpireAt))
	res.SetStatus(statusRenewal, stamp(rec.CredentialsExpireAt.Add(-r.renewBefore)))
	res.SetStatus(statusSealingKey, rec.Sealed.KeyFingerprint)
	if url := cmp.Or(p.dest.natsURL, p.account.NATSURL); url != "" {
		res.SetStatus(statusNATSURL, url)
	}
	if rec.Destination != "" {
		res.SetStatus(statusDestination, rec.Destination)
	}
	return nil
}

// result is a delete run's result once user u was deleted.
func (p *deletePlan) result(u *backend.User, d backend.Deletion) *kratix.Result {
	prev := &p.in.State
	if d.Revoked {
		return &kratix.Result{Message: fmt.Sprintf("NATS user %s: credentials revoked, user deleted", p.name)}
	}
	if u.KeyProof == "" {
		// A key the backend does not vouch for is not named as this
		// user's: the platform may revoke what the message names.
		return &kratix.Result{Message: fmt.Sprintf("NATS user %s: no longer renewed. Its credentials stay valid until they expire: this account's revocation list is part of its account JWT, which the platform signs; the key in status.%s.userPublicKey is not one this stage can vouch for", p.name, StateKey)}
	}
	msg := fmt.Sprintf("NATS user %s: no longer renewed. Its credentials (key %s) stay valid until %s: this account's revocation list is part of its account JWT, which the platform signs",
		p.name, u.PublicKey, stamp(prev.CredentialsExpireAt))
	for _, k := range prev.ReplacedKeys {
		msg += fmt.Sprintf("; earlier key %s until %s", k.UserPublicKey, stamp(k.ValidUntil))
	}
	return &kratix.Result{Message: msg}
}

// stamp writes a time for status and messages.
func stamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
