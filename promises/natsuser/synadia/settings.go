package synadia

import (
	"time"

	"github.com/synadia-io/control-plane-sdk-go/syncp"

	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

// user converts the API's view of a user.
func user(v *syncp.NatsUserViewResponse, origin backend.Origin) *backend.User {
	s := settingsOf(v)
	return &backend.User{ID: v.Id, Name: v.Name, PublicKey: v.UserPublicKey, Settings: &s, Origin: origin}
}

// settingsOf reads the settings Synadia Cloud holds for a user. An absent
// limit is unlimited, as the API's defaults say.
func settingsOf(v *syncp.NatsUserViewResponse) backend.Settings {
	js := v.JwtSettings
	s := backend.Settings{
		Limits: backend.Limits{
			Subscriptions: valueOr(js.Subs, backend.NoLimit),
			Data:          valueOr(js.Data, backend.NoLimit),
			Payload:       valueOr(js.Payload, backend.NoLimit),
		},
		Lifetime: time.Duration(v.JwtExpiresInSecs) * time.Second,
	}
	if js.Pub != nil {
		s.Publish = backend.Permission{Allow: js.Pub.Allow, Deny: js.Pub.Deny}
	}
	if js.Sub != nil {
		s.Subscribe = backend.Permission{Allow: js.Sub.Allow, Deny: js.Sub.Deny}
	}
	if js.Resp != nil {
		s.Responses = &backend.Responses{MaxMessages: int(js.Resp.Max), TTL: time.Duration(js.Resp.Ttl)}
	}
	return s.Canonical()
}

func valueOr(p *int64, otherwise int64) int64 {
	if p == nil {
		return otherwise
	}
	return *p
}

// createSettings writes settings as a create request's jwt_settings.
func createSettings(s backend.Settings) *syncp.NatsCreateUserJwtSettings {
	s = s.Canonical()
	out := &syncp.NatsCreateUserJwtSettings{
		Subs:    syncp.Ptr(s.Limits.Subscriptions),
		Data:    syncp.Ptr(s.Limits.Data),
		Payload: syncp.Ptr(s.Limits.Payload),
	}
	if p := s.Publish; len(p.Allow)+len(p.Deny) > 0 {
		out.Pub = &syncp.Permission{Allow: p.Allow, Deny: p.Deny}
	}
	if p := s.Subscribe; len(p.Allow)+len(p.Deny) > 0 {
		out.Sub = &syncp.Permission{Allow: p.Allow, Deny: p.Deny}
	}
	if r := s.Responses; r != nil {
		out.Resp = &syncp.ResponsePermission{Max: int64(r.MaxMessages), Ttl: int64(r.TTL)}
	}
	return out
}

// userPatch is syncp's NatsUserUpdateRequest as UpdateUser sends it.
type userPatch struct {
	JwtExpiresInSecs int64             `json:"jwt_expires_in_secs"`
	JwtSettings      *jwtSettingsPatch `json:"jwt_settings,omitempty"`
}

// jwtSettingsPatch is syncp's NatsUserJwtSettingsPatch with every field
// this stage manages always sent: null clears a permission or response
// rule, and [] clears a list, where syncp would leave it out.
type jwtSettingsPatch struct {
	Subs    int64            `json:"subs"`
	Data    int64            `json:"data"`
	Payload int64            `json:"payload"`
	Pub     *permissionPatch `json:"pub"`
	Sub     *permissionPatch `json:"sub"`
	Resp    *responsePatch   `json:"resp"`
}

type permissionPatch struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
}

type responsePatch struct {
	Max int64 `json:"max"`
	TTL int64 `json:"ttl"` // nanoseconds
}

// updateSettings writes settings as a PATCH's jwt_settings.
func updateSettings(s backend.Settings) *jwtSettingsPatch {
	s = s.Canonical()
	out := &jwtSettingsPatch{
		Subs:    s.Limits.Subscriptions,
		Data:    s.Limits.Data,
		Payload: s.Limits.Payload,
		Pub:     permission(s.Publish),
		Sub:     permission(s.Subscribe),
	}
	if r := s.Responses; r != nil {
		out.Resp = &responsePatch{Max: int64(r.MaxMessages), TTL: int64(r.TTL)}
	}
	return out
}

// permission is p as a patch: nil (null) when it has no lists, else both
// lists, each [] when empty.
func permission(p backend.Permission) *permissionPatch {
	if len(p.Allow)+len(p.Deny) == 0 {
		return nil
	}
	return &permissionPatch{Allow: nonNil(p.Allow), Deny: nonNil(p.Deny)}
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
