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

// updateSettings writes settings as a PATCH's jwt_settings: every field is
// sent, and a permission or response rule that s leaves empty is sent as
// null, which clears what the user had.
func updateSettings(s backend.Settings) *syncp.NatsUserJwtSettingsPatch {
	s = s.Canonical()
	out := &syncp.NatsUserJwtSettingsPatch{
		Subs:    syncp.Ptr(s.Limits.Subscriptions),
		Data:    syncp.Ptr(s.Limits.Data),
		Payload: syncp.Ptr(s.Limits.Payload),
		// A zero Nullable encodes as null.
		Pub:  &syncp.Nullable[syncp.PermissionPatch]{Val: syncp.PermissionPatch{Allow: s.Publish.Allow, Deny: s.Publish.Deny}},
		Sub:  &syncp.Nullable[syncp.PermissionPatch]{Val: syncp.PermissionPatch{Allow: s.Subscribe.Allow, Deny: s.Subscribe.Deny}},
		Resp: &syncp.Nullable[syncp.ResponsePermissionPatch]{},
	}
	if r := s.Responses; r != nil {
		out.Resp.Val = syncp.ResponsePermissionPatch{Max: syncp.Ptr(int64(r.MaxMessages)), Ttl: syncp.Ptr(int64(r.TTL))}
	}
	return out
}
