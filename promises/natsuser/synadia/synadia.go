// Package synadia keeps NATS users in Synadia Cloud (or a Synadia Control
// Plane) through its official generated client, syncp.
//
// Synadia Cloud holds each user's nkey and settings and mints a new user
// JWT on every credentials download; this package therefore never downloads
// unless asked, and the caller asks only when credentials are due. Requests
// that are safe to repeat are repeated on lost answers, 429 and 5xx (see
// retryTransport); creating a user is not repeated blindly (see
// CreateUser).
package synadia

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/synadia-io/control-plane-sdk-go/syncp"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

// Options configure a Client. Zero durations take the defaults below.
type Options struct {
	// URL is the API's base, without the /api suffix the spec adds.
	URL string
	// TokenFile holds the bearer token: a personal access token or,
	// better, a service-account token (a mounted Secret).
	TokenFile string
	// AccountID is the Synadia ID of the account users are created in.
	AccountID string
	// SigningKeyGroup is the name or ID of the account signing key group
	// that signs new users.
	SigningKeyGroup string
	// AttemptTimeout bounds one HTTP attempt, answer included.
	AttemptTimeout time.Duration
	// Attempts is how often a request that is safe to repeat is tried.
	Attempts int
	Backoff  Backoff
}

// Defaults for Options.
const (
	DefaultURL            = "https://cloud.synadia.com"
	DefaultAttemptTimeout = 10 * time.Second
	DefaultAttempts       = 5
	DefaultBackoffInitial = 500 * time.Millisecond
	DefaultBackoffMax     = 8 * time.Second
)

// maxTokenFileBytes bounds the token file; tokens are under a kilobyte.
const maxTokenFileBytes = 16 << 10

// createAttempts bounds how often CreateUser posts, each time only after a
// listing showed that the user does not exist.
const createAttempts = 3

// Client is one account of Synadia Cloud. It implements backend.Backend.
type Client struct {
	api     *syncp.APIClient
	base    string // the API's URL, ending in /api
	token   string
	account string
	group   string
	backoff Backoff
	sleep   func(ctx context.Context, d time.Duration) error
}

// Open reads the token and returns a client for o.AccountID.
func Open(o Options) (*Client, error) {
	if o.AccountID == "" {
		return nil, errors.New("synadia: the account ID is required")
	}
	if o.SigningKeyGroup == "" {
		return nil, errors.New("synadia: the signing key group is required")
	}
	token, err := readToken(o.TokenFile)
	if err != nil {
		return nil, err
	}
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff.Initial = DefaultBackoffInitial
	}
	if o.Backoff.Max < o.Backoff.Initial {
		o.Backoff.Max = max(DefaultBackoffMax, o.Backoff.Initial)
	}
	c := &Client{token: token, account: o.AccountID, group: o.SigningKeyGroup, backoff: o.Backoff, sleep: sleep}
	c.base = strings.TrimSuffix(o.URL, "/") + "/api"
	cfg := syncp.NewConfiguration()
	cfg.Servers = syncp.ServerConfigurations{{URL: c.base}}
	cfg.UserAgent = userAgent
	cfg.HTTPClient = &http.Client{Transport: &retryTransport{
		next:           http.DefaultTransport,
		attemptTimeout: o.AttemptTimeout,
		attempts:       o.Attempts,
		backoff:        o.Backoff,
		sleep:          func(ctx context.Context, d time.Duration) error { return c.sleep(ctx, d) },
	}}
	c.api = syncp.NewAPIClient(cfg)
	return c, nil
}

func readToken(file string) (string, error) {
	info, err := os.Stat(file)
	if err != nil {
		return "", fmt.Errorf("reading the Synadia Cloud token: %w", err)
	}
	if info.Size() > maxTokenFileBytes {
		return "", fmt.Errorf("reading the Synadia Cloud token %s: larger than %d bytes", file, maxTokenFileBytes)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the Synadia Cloud token: %w", err)
	}
	token := string(bytes.TrimSpace(data))
	clear(data)
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("reading the Synadia Cloud token %s: expected one token on one line", file)
	}
	return token, nil
}

// auth adds the token the generated client sends as a bearer token.
func (c *Client) auth(ctx context.Context) context.Context {
	return context.WithValue(ctx, syncp.ContextAccessToken, c.token)
}

// FindUser looks the user up by ID, then, when it has none or the ID is
// gone, by exact name among the account's users.
func (c *Client) FindUser(ctx context.Context, ref backend.Ref) (*backend.User, error) {
	if ref.ID != "" {
		view, _, err := c.api.NatsUserAPI.GetNatsUser(c.auth(ctx), ref.ID).Execute()
		switch {
		case err == nil && view.Account.Id == c.account && view.Name != ref.Name:
			return nil, &backend.NotThisUserError{Field: "ID", Detail: fmt.Sprintf("NATS user %s is %q, not %q", ref.ID, view.Name, ref.Name)}
		case err == nil && view.Account.Id == c.account:
			return user(view, backend.Known), nil
		case err == nil, statusOf(err) == http.StatusNotFound:
			// Deleted (or moved) outside: whatever has its name now is it.
		default:
			return nil, fmt.Errorf("getting NATS user %s: %w", ref.ID, describe(err))
		}
	}
	return c.findByName(ctx, ref.Name)
}

// findByName lists the account's users (the API has no filter) and picks
// the one with exactly this name.
func (c *Client) findByName(ctx context.Context, name string) (*backend.User, error) {
	list, _, err := c.api.AccountAPI.ListUsers(c.auth(ctx), c.account).Execute()
	if err != nil {
		return nil, fmt.Errorf("listing the NATS users of account %s: %w", c.account, describe(err))
	}
	var found []syncp.NatsUserViewResponse
	for _, u := range list.Items {
		if u.Name == name {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return user(&found[0], backend.Adopted), nil
	}
	ids := make([]string, len(found))
	for i, u := range found {
		ids[i] = u.Id
	}
	return nil, fmt.Errorf("account %s has %d NATS users named %q (%s): delete all but one in Synadia Cloud", c.account, len(found), name, strings.Join(ids, ", "))
}

// CreateUser creates the user. Its POST is never repeated blindly: when an
// attempt fails in a way that may have created the user (no answer, 429,
// 5xx), the account's users are listed and a user of that name is taken
// as the one created. Only when the failed attempt did answer, and the
// listing shows no such user, is the POST tried again. When no answer
// came and no user is listed, the request may still be under way; the run
// fails, and the next one finds the user by name or creates it.
func (c *Client) CreateUser(ctx context.Context, name string, s backend.Settings) (*backend.User, error) {
	group, err := c.signingKeyGroup(ctx, s)
	if err != nil {
		return nil, err
	}
	req := syncp.NatsUserCreateRequest{
		Name:             name,
		SkGroupId:        group.Id,
		JwtExpiresInSecs: syncp.Ptr(int64(s.Lifetime / time.Second)),
	}
	if !group.IsScoped {
		req.JwtSettings = createSettings(s)
	}
	for n := 1; ; n++ {
		view, answer, err := c.api.AccountAPI.CreateUser(c.auth(ctx), c.account).NatsUserCreateRequest(req).Execute()
		if err == nil {
			return user(view, backend.Created), nil
		}
		if answer != nil && !retryable(answer) {
			return nil, fmt.Errorf("creating NATS user %q: %w", name, describe(err))
		}
		if sleepErr := c.sleep(ctx, c.backoff.wait(n, answer)); sleepErr != nil {
			return nil, fmt.Errorf("creating NATS user %q: %w; then %w", name, describe(err), sleepErr)
		}
		u, listErr := c.findByName(ctx, name)
		switch {
		case listErr != nil:
			return nil, fmt.Errorf("creating NATS user %q: %w; then %w", name, describe(err), listErr)
		case u != nil:
			u.Origin = backend.Created
			return u, nil
		case answer == nil:
			return nil, fmt.Errorf("creating NATS user %q: %w, and the user is not listed (yet): the next run adopts it if it was created", name, describe(err))
		case n >= createAttempts:
			return nil, fmt.Errorf("creating NATS user %q: %w (after %d attempts)", name, describe(err), n)
		}
	}
}

// signingKeyGroup finds the configured group among the account's. Settings
// that set permissions or limits cannot go with a scoped group: the
// scope sets them.
func (c *Client) signingKeyGroup(ctx context.Context, s backend.Settings) (*syncp.SigningKeyGroupViewResponse, error) {
	list, _, err := c.api.AccountAPI.ListAccountSkGroup(c.auth(ctx), c.account).Execute()
	if err != nil {
		return nil, fmt.Errorf("listing the signing key groups of account %s: %w", c.account, describe(err))
	}
	var group *syncp.SigningKeyGroupViewResponse
	for i, g := range list.Items {
		if g.Id == c.group || g.Name == c.group {
			if group != nil {
				return nil, fmt.Errorf("account %s has more than one signing key group called %q: configure its ID", c.account, c.group)
			}
			group = &list.Items[i]
		}
	}
	switch {
	case group == nil:
		return nil, fmt.Errorf("account %s has no signing key group %q", c.account, c.group)
	case group.Disabled:
		return nil, fmt.Errorf("signing key group %q of account %s is disabled", c.group, c.account)
	case group.IsScoped && s.Restricted():
		return nil, fmt.Errorf("signing key group %q of account %s is scoped: %w", c.group, c.account, backend.ErrScopedSigningKey)
	}
	return group, nil
}

// UpdateUser sends the user's full settings: a permission with no lists is
// sent as null and a list left empty as [], both of which clear what the
// user had.
//
// It is the one call not made through syncp: syncp's PermissionPatch drops
// empty lists (omitempty), and in a PATCH an omitted list keeps its old
// value, so a list the request no longer has would stay in every JWT
// issued after, and each later run would PATCH again (updatePatch).
func (c *Client) UpdateUser(ctx context.Context, u *backend.User, s backend.Settings) (*backend.User, error) {
	group, err := c.signingKeyGroup(ctx, s)
	if err != nil {
		return nil, err
	}
	patch := userPatch{JwtExpiresInSecs: int64(s.Lifetime / time.Second)}
	if !group.IsScoped {
		patch.JwtSettings = updateSettings(s)
	}
	var view syncp.NatsUserViewResponse
	if err := c.send(ctx, http.MethodPatch, "/core/beta/nats-users/"+url.PathEscape(u.ID), patch, &view); err != nil {
		return nil, fmt.Errorf("updating NATS user %q: %w", u.Name, err)
	}
	return user(&view, u.Origin), nil
}

// send makes one JSON call to the API through the client's transport
// (retries included) and decodes a 2xx answer into out.
func (c *Client) send(ctx context.Context, method, path string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.api.GetConfig().HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return answered(resp.Status, resp.StatusCode, answer)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}

// IssueCredentials downloads a new credentials file. Synadia Cloud signs it
// with the settings it holds; s and now are not needed.
func (c *Client) IssueCredentials(ctx context.Context, u *backend.User, _ backend.Settings, _ time.Time) ([]byte, error) {
	creds, _, err := c.api.NatsUserAPI.DownloadNatsUserCreds(c.auth(ctx), u.ID).Execute()
	if err != nil {
		return nil, fmt.Errorf("downloading the credentials of NATS user %q: %w", u.Name, describe(err))
	}
	info, err := backend.InspectCredentials([]byte(creds))
	if err != nil {
		return nil, fmt.Errorf("downloading the credentials of NATS user %q: %w", u.Name, err)
	}
	if info.UserPublicKey != u.PublicKey {
		return nil, fmt.Errorf("downloading the credentials of NATS user %q: they are for key %s, not the user's %s", u.Name, info.UserPublicKey, u.PublicKey)
	}
	return []byte(creds), nil
}

// DeleteUser revokes every JWT issued to the user's nkey so far, then
// deletes the user. Deleting alone is not known to revoke: a signed JWT
// would otherwise stay valid until it expires.
func (c *Client) DeleteUser(ctx context.Context, u *backend.User) (backend.Deletion, error) {
	var d backend.Deletion
	if u.PublicKey != "" {
		_, _, err := c.api.AccountAPI.CreateOrUpdateNatsUserRevocation(c.auth(ctx), c.account, u.PublicKey).
			NatsUserRevocationRequest(syncp.NatsUserRevocationRequest{Before: 0}). // 0: now
			Execute()
		if err != nil && statusOf(err) != http.StatusNotFound {
			return d, fmt.Errorf("revoking the credentials of NATS user %q: %w", u.Name, describe(err))
		}
		d.Revoked = err == nil
	}
	_, err := c.api.NatsUserAPI.DeleteNatsUser(c.auth(ctx), u.ID).Execute()
	switch {
	case err == nil:
		d.Existed = true
	case statusOf(err) == http.StatusNotFound:
	default:
		return d, fmt.Errorf("deleting NATS user %q: %w", u.Name, describe(err))
	}
	return d, nil
}

// statusOf returns the HTTP status of an error the generated client
// returned for an answer, 0 when no answer came.
func statusOf(err error) int {
	var apiErr *syncp.GenericOpenAPIError
	if errors.As(err, &apiErr) {
		return apiErr.Code()
	}
	return 0
}

// userAgent names this client to the API.
const userAgent = "promisekit-natsuser"

// maxAnswerBytes bounds an answer read outside syncp; a user's view is a
// few kilobytes.
const maxAnswerBytes = 1 << 20

// maxBodyInError bounds how much of an error answer goes into a message.
const maxBodyInError = 200

// describe turns the generated client's errors into one readable line.
// Error bodies have no schema; they are quoted briefly, on one line.
func describe(err error) error {
	var apiErr *syncp.GenericOpenAPIError
	if !errors.As(err, &apiErr) {
		var ne net.Error
		if errors.As(err, &ne) {
			// No answer at all, after every attempt the run could afford.
			return kratix.Transient(err)
		}
		return err
	}
	return answered(apiErr.Error(), apiErr.Code(), apiErr.Body())
}

// answered describes an error answer: its status, the start of its body,
// and what a 401 or 403 usually means.
func answered(status string, code int, body []byte) error {
	msg := "Synadia Cloud answered " + status
	if text := strings.Join(strings.Fields(string(body)), " "); text != "" {
		if len(text) > maxBodyInError {
			text = text[:maxBodyInError] + "…"
		}
		msg += ": " + text
	}
	switch code {
	case http.StatusUnauthorized:
		msg += " (the token was not accepted: check the token Secret)"
	case http.StatusForbidden:
		msg += " (the token may not do this: check its role or scope)"
	}
	if code == http.StatusTooManyRequests || code >= 500 {
		// Still "later" after every attempt the run could afford: a
		// later run may get through.
		return kratix.Transient(errors.New(msg))
	}
	return errors.New(msg)
}

// Vouch returns no proof: Synadia Cloud holds its users, and FindUser asks
// it whose a user ID is.
func (c *Client) Vouch(context.Context, string, string) (string, error) { return "", nil }

// Vouches is false: a key other than a user's current one, which Synadia
// Cloud reports, is not one this stage can vouch for.
func (c *Client) Vouches(context.Context, string, string, string) (bool, error) { return false, nil }
