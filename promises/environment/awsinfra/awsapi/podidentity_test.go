package awsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/promisekit/promisekit/promises/environment/awsinfra"
	"github.com/promisekit/promisekit/promises/environment/internal/awscalls"
	"github.com/promisekit/promisekit/promises/environment/internal/motoserver"
)

// fakePodIdentity serves the five EKS Pod Identity routes, which moto
// 5.2.1 lacks (it answers them with an HTML 404). Associations are keyed by
// id; errors are restJson1's: a status, X-Amzn-ErrorType and a message.
type fakePodIdentity struct {
	mu     sync.Mutex
	byID   map[string]*association
	nextID int
	// invalidCreates answers that many creates with InvalidParameterException,
	// as EKS does while a new role is not yet visible to it.
	invalidCreates int
}

type association struct {
	AssociationID  string            `json:"associationId"`
	AssociationArn string            `json:"associationArn"`
	ClusterName    string            `json:"clusterName"`
	Namespace      string            `json:"namespace"`
	ServiceAccount string            `json:"serviceAccount"`
	RoleArn        string            `json:"roleArn,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
}

func (f *fakePodIdentity) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// /clusters/{cluster}/pod-identity-associations[/{id}]
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) < 3 || segs[0] != "clusters" || segs[2] != "pod-identity-associations" {
		fail(w, http.StatusNotFound, "ResourceNotFoundException", "no such route")
		return
	}
	cluster := segs[1]
	var body struct {
		Namespace      string            `json:"namespace"`
		ServiceAccount string            `json:"serviceAccount"`
		RoleArn        string            `json:"roleArn"`
		Tags           map[string]string `json:"tags"`
	}
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			fail(w, http.StatusBadRequest, "InvalidRequestException", err.Error())
			return
		}
	}
	if len(segs) == 3 {
		switch r.Method {
		case http.MethodGet:
			q := r.URL.Query()
			list := []association{}
			for _, id := range f.sortedIDs() {
				a := f.byID[id]
				if a.ClusterName == cluster && a.Namespace == q.Get("namespace") && a.ServiceAccount == q.Get("serviceAccount") {
					list = append(list, association{AssociationID: a.AssociationID, AssociationArn: a.AssociationArn, ClusterName: a.ClusterName, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount})
				}
			}
			reply(w, map[string]any{"associations": list})
		case http.MethodPost:
			if f.invalidCreates > 0 {
				f.invalidCreates--
				fail(w, http.StatusBadRequest, "InvalidParameterException", "Role is not found")
				return
			}
			for _, a := range f.byID {
				if a.ClusterName == cluster && a.Namespace == body.Namespace && a.ServiceAccount == body.ServiceAccount {
					fail(w, http.StatusConflict, "ResourceInUseException", "Association already exists")
					return
				}
			}
			f.nextID++
			id := fmt.Sprintf("a-%04d", f.nextID)
			a := &association{
				AssociationID: id, AssociationArn: "arn:aws:eks:us-east-1:" + motoserver.AccountID + ":podidentityassociation/" + cluster + "/" + id,
				ClusterName: cluster, Namespace: body.Namespace, ServiceAccount: body.ServiceAccount, RoleArn: body.RoleArn, Tags: body.Tags,
			}
			f.byID[id] = a
			reply(w, map[string]any{"association": a})
		default:
			fail(w, http.StatusMethodNotAllowed, "InvalidRequestException", r.Method)
		}
		return
	}
	a, ok := f.byID[segs[3]]
	if !ok || a.ClusterName != cluster {
		fail(w, http.StatusNotFound, "ResourceNotFoundException", "No association "+segs[3])
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		a.RoleArn = body.RoleArn
	case http.MethodDelete:
		delete(f.byID, a.AssociationID)
	}
	reply(w, map[string]any{"association": a})
}

func (f *fakePodIdentity) sortedIDs() []string {
	ids := make([]string, 0, len(f.byID))
	for id := range f.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (f *fakePodIdentity) all() []association {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []association
	for _, id := range f.sortedIDs() {
		out = append(out, *f.byID[id])
	}
	return out
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", errType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// withPodIdentity serves the fake's routes and sends everything else to
// moto, so that one recording proxy sees every call in order.
func withPodIdentity(t *testing.T, fake *fakePodIdentity) string {
	t.Helper()
	u, err := url.Parse(moto.Get(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	toMoto := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/pod-identity-associations") {
			fake.ServeHTTP(w, r)
			return
		}
		toMoto.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func podIdentityDesired() awsinfra.Desired {
	d := desired("team-a/dev")
	d.Role.TrustPolicy = awsinfra.PodIdentityTrustPolicy("team-a-dev", "app")
	d.PodIdentity = &awsinfra.PodIdentity{ClusterName: "platform", Namespace: "team-a-dev", ServiceAccount: "app"}
	return d
}

func TestPodIdentity(t *testing.T) {
	ctx := context.Background()
	fake := &fakePodIdentity{byID: map[string]*association{}, invalidCreates: 2}
	f := newFixture(t, withPodIdentity(t, fake))
	d := podIdentityDesired()

	res, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.proxy.Counts()[callOf("eks", "CreatePodIdentityAssociation")]; n != 3 {
		t.Errorf("CreatePodIdentityAssociation called %d times, want 3 (two refused while IAM propagates)", n)
	}
	got := fake.all()
	if len(got) != 1 || got[0].RoleArn != res.RoleARN || got[0].Tags[awsinfra.OwnerTag] != "team-a/dev" || res.PodIdentityAssociationID != got[0].AssociationID {
		t.Fatalf("associations = %+v, result %+v", got, res)
	}

	f.proxy.Reset()
	if _, err := f.client.Ensure(ctx, d, awsinfra.Known{Repository: true, Role: true}, false); err != nil {
		t.Fatal(err)
	}
	if m := f.proxy.Mutating(); len(m) != 0 {
		t.Errorf("re-run made mutating calls %v", m)
	}

	fake.mu.Lock()
	fake.byID[got[0].AssociationID].RoleArn = "arn:aws:iam::123456789012:role/other"
	fake.mu.Unlock()
	res, err = f.client.Ensure(ctx, d, awsinfra.Known{Repository: true, Role: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`pointed EKS Pod Identity association for team-a-dev/app in cluster "platform" at ` + res.RoleARN}; !slices.Equal(res.Changes, want) {
		t.Errorf("repair = %q, want %q", res.Changes, want)
	}

	f.proxy.Reset()
	if _, err := f.client.Delete(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range f.proxy.Mutating() {
		order = append(order, c.String())
	}
	want := []string{"eks:DeletePodIdentityAssociation", "iam:DeleteRolePolicy", "iam:DeleteRole", "ecr:DeleteRepository"}
	if !slices.Equal(order, want) {
		t.Errorf("delete order %q, want %q", order, want)
	}
	if left := fake.all(); len(left) != 0 {
		t.Errorf("associations left: %+v", left)
	}
}

func callOf(service, op string) awscalls.Call { return awscalls.Call{Service: service, Operation: op} }

// TestRetiredPodIdentity: an association that no longer applies is deleted
// by the next Ensure, and the current one is kept; one of another owner is
// left alone.
func TestRetiredPodIdentity(t *testing.T) {
	ctx := context.Background()
	fake := &fakePodIdentity{byID: map[string]*association{}}
	f := newFixture(t, withPodIdentity(t, fake))
	first := podIdentityDesired()
	if _, err := f.client.Ensure(ctx, first, awsinfra.Known{}, false); err != nil {
		t.Fatal(err)
	}

	moved := podIdentityDesired()
	moved.PodIdentity = &awsinfra.PodIdentity{ClusterName: "platform", Namespace: "team-a-dev", ServiceAccount: "worker"}
	moved.RetiredPodIdentity = first.PodIdentity
	res, err := f.client.Ensure(ctx, moved, awsinfra.Known{Repository: true, Role: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	got := fake.all()
	if len(got) != 1 || got[0].ServiceAccount != "worker" || got[0].AssociationID != res.PodIdentityAssociationID {
		t.Fatalf("after moving: %+v", got)
	}

	off := desired("team-a/dev")
	off.Role.TrustPolicy = moved.Role.TrustPolicy
	off.RetiredPodIdentity = moved.PodIdentity
	f.proxy.Reset()
	res, err = f.client.Ensure(ctx, off, awsinfra.Known{Repository: true, Role: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	if left := fake.all(); len(left) != 0 {
		t.Errorf("associations left after turning Pod Identity off: %+v", left)
	}
	if want := []string{`deleted EKS Pod Identity association for team-a-dev/worker in cluster "platform"`}; !slices.Equal(res.Changes, want) {
		t.Errorf("changes %q, want %q", res.Changes, want)
	}

	// Another request's association for the same service account stays.
	other := podIdentityDesired()
	other.Owner = "team-b/dev"
	other.Repository.Name, other.Role.Name = "environments/team-b-dev", "env-team-b-dev"
	other.PodIdentity = moved.PodIdentity
	if _, err := f.client.Ensure(ctx, other, awsinfra.Known{}, false); err != nil {
		t.Fatal(err)
	}
	res, err = f.client.Ensure(ctx, off, awsinfra.Known{Repository: true, Role: true}, false)
	if err == nil && len(fake.all()) == 1 && len(res.Unrepaired) == 1 {
		return
	}
	t.Errorf("err %v, associations %+v, unrepaired %q: want the other owner's kept and reported", err, fake.all(), res.Unrepaired)
}
