package backend

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/jwt/v2"
)

// CredentialsInfo is the public part of a credentials file.
type CredentialsInfo struct {
	UserPublicKey string
	IssuedAt      time.Time
	ExpiresAt     time.Time // zero when the JWT never expires
}

// InspectCredentials checks that creds is a NATS user credentials file whose
// seed belongs to its JWT, and returns the JWT's public facts. Errors never
// quote the file: it is a secret.
func InspectCredentials(creds []byte) (CredentialsInfo, error) {
	token, err := jwt.ParseDecoratedJWT(creds)
	if err != nil {
		return CredentialsInfo{}, errors.New("credentials file has no user JWT")
	}
	claims, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return CredentialsInfo{}, fmt.Errorf("credentials file: user JWT does not decode: %w", err)
	}
	kp, err := jwt.ParseDecoratedUserNKey(creds)
	if err != nil {
		return CredentialsInfo{}, errors.New("credentials file has no user nkey seed")
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return CredentialsInfo{}, errors.New("credentials file: nkey seed is unusable")
	}
	if pub != claims.Subject {
		return CredentialsInfo{}, fmt.Errorf("credentials file: nkey seed does not belong to the JWT's user %s", claims.Subject)
	}
	info := CredentialsInfo{UserPublicKey: pub, IssuedAt: time.Unix(claims.IssuedAt, 0).UTC()}
	if claims.Expires > 0 {
		info.ExpiresAt = time.Unix(claims.Expires, 0).UTC()
	}
	return info, nil
}
