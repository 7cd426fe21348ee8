package natsuser

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/promises/natsuser/internal/fakesynadia"
)

// forgery changes the forger's status.natsUser, given the victim's.
type forgery struct {
	name  string
	forge func(forger, victim map[string]any)
	// refusedField is the status field a refusal names; "" when the run
	// goes on with the forger's own user only.
	refusedField string
}

// runForged configures the forger's request, forges its status from the
// victim's, calls before (to reset a call log), runs action and checks
// that a refusal is what the forgery expects.
func runForged(t *testing.T, h *stagetest.Harness, fg forgery, victim map[string]any, action string, before func()) *stagetest.Outcome {
	t.Helper()
	configure(t, h)
	forged := h.StatusCopy(StateKey)
	fg.forge(forged, victim)
	h.SetStatus(StateKey, forged)
	before()
	out := h.RunIn(context.Background(), action, h.PodDirs())
	if fg.refusedField == "" {
		if out.Err != nil {
			t.Fatal(out.Err)
		}
		return out
	}
	stagetest.CheckRefused(t, out, fg.refusedField)
	checkNoLeaks(t, out)
	return out
}

// copyField sets the forger's fields to the victim's.
func copyField(fields ...string) func(forger, victim map[string]any) {
	return func(forger, victim map[string]any) {
		for _, f := range fields {
			forger[f] = victim[f]
		}
	}
}

// TestForgedStateSynadia: a NATSUser whose status names another request's
// user, in Synadia Cloud. Through configure and delete, the other user
// sees no mutating call and its credentials still work.
func TestForgedStateSynadia(t *testing.T) {
	e := newCloud(t)
	victimH := e.harness(t, "orders-api", ordersSpec)
	victimOut := configure(t, victimH)
	victimCreds := credsOf(t, victimOut, testKeys(t))
	victim := victimH.StatusCopy(StateKey)
	victimUser := e.users("orders-api")

	forgeries := []forgery{
		{"another request's whole status", func(f, v map[string]any) { clear(f); copyField(keysOf(v)...)(f, v) }, "status.natsUser.userName"},
		{"user id", copyField("userId"), "status.natsUser.userId"},
		{"user name", copyField("userName"), "status.natsUser.userName"},
		{"user id and name", copyField("userId", "userName"), "status.natsUser.userName"},
		{"sealed Secret's namespace", func(f, _ map[string]any) { f["sealed"].(map[string]any)["namespace"] = "team-billing" }, "status.natsUser.sealed.namespace"},
		{"older schema version", func(f, _ map[string]any) { f["schemaVersion"] = 0 }, "status.natsUser"},
		// Synadia Cloud reports the user's key itself: a recorded key that
		// differs re-issues the forger's own credentials.
		{"user public key", copyField("userPublicKey"), ""},
	}
	for i, fg := range forgeries {
		for _, action := range []string{"configure", "delete"} {
			t.Run(fg.name+"/"+action, func(t *testing.T) {
				name := fmt.Sprintf("billing-%d-%s", i, action)
				runForged(t, e.harness(t, name, ordersSpec), fg, victim, action, e.fake.ResetCalls)
				if fg.refusedField != "" {
					for route := range e.fake.Calls() {
						if !strings.HasPrefix(route, "GET ") {
							t.Errorf("a refused run called %s", route)
						}
					}
				}
				// The victim's user is as it was, and its credentials work.
				if got := e.users("orders-api"); !slices.Equal(got, victimUser) {
					t.Errorf("victim's user %+v, was %+v", got, victimUser)
				}
				checkCredentials(t, e.nats, victimCreds, "orders.events.created", "billing.created")
			})
		}
	}
	// The forgeries left the victim's own runs as they were.
	e.fake.ResetCalls()
	rerunUnchanged(t, victimH, victimOut.Files, 1)
	checkCalls(t, e.fake, map[string]int{fakesynadia.RouteGetUser: 1})
}

// TestForgedStateSelfHosted: a NATSUser whose status names another
// request's key in a self-hosted account. Nothing outside can be changed
// there; what matters is that the other request's key is never presented
// as the forger's: not listed as replaced, not named in a message.
func TestForgedStateSelfHosted(t *testing.T) {
	e := newSelfHosted(t)
	victimH := e.harness(t, "orders-api", ordersSpec)
	victimOut := configure(t, victimH)
	victimCreds := credsOf(t, victimOut, e.keys)
	victim := victimH.StatusCopy(StateKey)
	victimKey := victim["userPublicKey"].(string)

	forgeries := []forgery{
		{"another request's whole status", func(f, v map[string]any) { clear(f); copyField(keysOf(v)...)(f, v) }, "status.natsUser.userName"},
		{"user name", copyField("userName"), "status.natsUser.userName"},
		{"sealed Secret's namespace", func(f, _ map[string]any) { f["sealed"].(map[string]any)["namespace"] = "team-billing" }, "status.natsUser.sealed.namespace"},
		{"older schema version", func(f, _ map[string]any) { f["schemaVersion"] = 0 }, "status.natsUser"},
		// The account does not vouch for another user's key under the
		// forger's name: the forger gets fresh credentials of its own.
		{"user public key", copyField("userPublicKey"), ""},
		{"user public key and its proof", copyField("userPublicKey", "userKeyProof"), ""},
		{"replaced keys", func(f, v map[string]any) {
			f["replacedKeys"] = []any{map[string]any{"userPublicKey": v["userPublicKey"], "validUntil": v["credentialsExpireAt"], "keyProof": v["userKeyProof"]}}
		}, ""},
	}
	for i, fg := range forgeries {
		for _, action := range []string{"configure", "delete"} {
			t.Run(fg.name+"/"+action, func(t *testing.T) {
				out := runForged(t, e.harness(t, fmt.Sprintf("billing-%d-%s", i, action), ordersSpec), fg, victim, action, func() {})
				// status.yaml holds the message too.
				if strings.Contains(string(out.StatusYAML), victimKey) {
					t.Errorf("the forger's status names the victim's key:\n%s", out.StatusYAML)
				}
				if out.Err != nil && strings.Contains(out.Err.Error(), victimKey) {
					t.Errorf("the error names the victim's key: %v", out.Err)
				}
				checkCredentials(t, e.nats, victimCreds, "orders.events.created", "billing.created")
			})
		}
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
