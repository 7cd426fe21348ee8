package natsuser

import (
	"fmt"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/sealing"
	"github.com/promisekit/promisekit/pkg/state"
)

// StateKey is the top-level status key holding the stage's state.
const StateKey = "natsUser"

var stateCodec = state.Codec[record]{Key: StateKey, Version: 1}

// record is what one run leaves for the next. All of it is public: the
// credentials exist only inside Sealed.
type record struct {
	Account       string `json:"account"`
	UserName      string `json:"userName"`
	UserID        string `json:"userId,omitempty"`
	UserPublicKey string `json:"userPublicKey"`
	// Destination is where the SealedSecret was placed (a name in
	// config.destinations; empty for the implicit one), so that a move is
	// seen: another cluster's controller holds another key.
	Destination string `json:"destination,omitempty"`
	// UserKeyProof is the backend's proof that UserPublicKey is this
	// user's (backend.User.KeyProof); empty where the backend holds its
	// users.
	UserKeyProof string `json:"userKeyProof,omitempty"`
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
	KeyProof      string    `json:"keyProof,omitempty"`
}

// bindState refuses state that names another request's user or Secret:
// a request's status is not trusted to name an outside object. The user
// ID and key are checked against the backend in Act (findUser, vouched).
func bindState(in *input) error {
	s := &in.State
	if want := userName(in.Config.UserNamePrefix, in.Namespace, in.Object.Metadata.Name); s.UserName != "" && s.UserName != want {
		return &kratix.FieldError{Field: "status." + StateKey + ".userName", Detail: fmt.Sprintf("names NATS user %q, not this request's %q (config.userNamePrefix cannot change while users exist)", s.UserName, want)}
	}
	if len(s.Sealed.EncryptedData) > 0 && s.Sealed.Namespace != in.Namespace {
		return &kratix.FieldError{Field: "status." + StateKey + ".sealed.namespace", Detail: fmt.Sprintf("is %q, not this request's namespace %q", s.Sealed.Namespace, in.Namespace)}
	}
	return nil
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
