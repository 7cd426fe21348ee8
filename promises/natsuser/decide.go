package natsuser

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/sealing"
	"github.com/promisekit/promisekit/pkg/stage"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

// input is what the natsuser workflows decide from.
type input = stage.Input[Spec, Config, record]

// configurePlan is a configure run's decision: which user, which account,
// which Secret. Whether credentials are due depends on what the account
// holds, so Act asks it, then decides with issueReason.
type configurePlan struct {
	in      *input
	r       *request
	name    string // the user's name in NATS
	account AccountConfig
	target  sealing.Target
	dest    destinationSettings // where the SealedSecret goes, and the key it needs
}

func decideConfigure(in *input) (stage.Plan[Outside], error) {
	r, err := validateSpec(&in.Spec, in.Object.Metadata.Name)
	if err != nil {
		return nil, err
	}
	if in.Found && in.State.Account != r.account {
		return nil, &kratix.FieldError{Field: "spec.account", Detail: fmt.Sprintf("cannot change from %q to %q: delete this request and create it again", in.State.Account, r.account)}
	}
	acct, err := in.Config.account(r.account)
	if err != nil {
		return nil, err
	}
	dest, err := in.Config.place(in.Spec.Destination)
	if err != nil {
		return nil, err
	}
	scope, _ := sealing.ParseScope(in.Config.Sealing.Scope) // validated with the configuration
	return &configurePlan{
		in:      in,
		r:       r,
		name:    userName(in.Config.UserNamePrefix, in.Namespace, in.Object.Metadata.Name),
		account: acct,
		target:  sealing.Target{Namespace: in.Namespace, Name: r.secretName, Scope: scope},
		dest:    dest,
	}, nil
}

// issueReason says why new credentials are due, or "" when the stored ones
// stay. A new sealing certificate is not a reason: the stored ciphertext
// stays valid (the controller keeps its earlier keys) and the new key seals
// the next credentials issued for any other reason. Only a key the platform
// retired (config.sealing.retiredKeys) replaces them.
func issueReason(found bool, prev *record, u *backend.User, r *request, retiredKeys []string, t sealing.Target, now time.Time) string {
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
	case prev.Sealed.KeyRetired(retiredKeys):
		return "sealing key retired"
	case !prev.Sealed.Fits(t) || len(prev.Sealed.EncryptedData) != 1 || prev.Sealed.EncryptedData[r.secretKey] == "":
		return "Secret changed"
	case !now.Before(prev.CredentialsExpireAt.Add(-r.renewBefore)):
		return "renewal due"
	}
	return ""
}

// moveReason says why a request placed on another destination than the
// last run's needs new credentials, or "" when it does not. The stage
// never keeps credentials in the clear, so it cannot seal the same ones
// again for another key: it issues new ones (a Synadia Cloud user's are
// downloaded again, for the same key; a self-hosted user gets a new key,
// and the old one is listed in replacedKeys until it expires). Where the
// new destination's controller holds the key the stored ciphertext was
// sealed with (a key shared by clusters), the ciphertext moves as it is.
func moveReason(found bool, prev *record, dest *destinationSettings, cert *sealing.Certificate) string {
	if !found || prev.Destination == dest.name || prev.Sealed.KeyFingerprint == cert.KeyFingerprint {
		return ""
	}
	if dest.name == "" {
		return "moved off destination " + prev.Destination
	}
	return "moved to destination " + dest.name
}

// deletePlan is a delete run's decision: which user, in which account.
type deletePlan struct {
	in          *input
	name        string
	accountName string
	account     AccountConfig
}

// decideDelete is the delete workflow's decision. A request whose spec no
// longer validates is still deleted if an earlier run recorded its user;
// without a record, the user is looked for by name, in case an earlier
// configure created it and stopped before it could record it.
func decideDelete(in *input) (stage.Plan[Outside], error) {
	accountName := in.State.Account
	if !in.Found {
		r, err := validateSpec(&in.Spec, in.Object.Metadata.Name)
		if in.SpecErr != nil || err != nil {
			return stage.Done[Outside]{Result: &kratix.Result{Message: "nothing to delete: the request never passed validation"}}, nil
		}
		accountName = r.account
	}
	acct, err := in.Config.account(accountName)
	if err != nil {
		return nil, err
	}
	return &deletePlan{
		in:          in,
		name:        cmp.Or(in.State.UserName, userName(in.Config.UserNamePrefix, in.Namespace, in.Object.Metadata.Name)),
		accountName: accountName,
		account:     acct,
	}, nil
}

// account returns the configuration of the account a request names. An
// unknown account is the request's error.
func (c *Config) account(name string) (AccountConfig, error) {
	a, ok := c.Accounts[name]
	if !ok {
		return a, &kratix.FieldError{Field: "spec.account", Detail: fmt.Sprintf("this platform has no NATS account %q (it has: %s)", name, strings.Join(slices.Sorted(maps.Keys(c.Accounts)), ", "))}
	}
	return a, nil
}

// userName is the user's name in NATS, the same on every run. It is unique
// per request: a namespace name has no dots, so the first dot after the
// prefix ends it.
func userName(prefix, namespace, name string) string {
	return prefix + namespace + "." + name
}
