package state

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/pkg/kratix"
)

type userState struct {
	UserID      string            `json:"userId"`
	IssuedAt    int64             `json:"issuedAt"`
	Permissions []string          `json:"permissions,omitempty"`
	Sealed      map[string]string `json:"sealed,omitempty"`
}

var codec = Codec[userState]{Key: "natsUser", Version: 2, Migrations: map[int]Migration{
	// Version 1 called the id "id".
	1: func(m map[string]any) error {
		m["userId"] = m["id"]
		delete(m, "id")
		return nil
	},
}}

// roundTrip stores v, writes status.yaml as a stage would, merges it into
// an object as Kratix would hand it back, and loads it again.
func roundTrip(t *testing.T, v userState) (userState, bool) {
	t.Helper()
	var res kratix.Result
	if err := codec.Store(&res, v); err != nil {
		t.Fatal(err)
	}
	status, err := yaml.Marshal(res.Status)
	if err != nil {
		t.Fatal(err)
	}
	obj := objectWithStatus(t, string(status))
	got, found, err := codec.Load(obj)
	if err != nil {
		t.Fatal(err)
	}
	return got, found
}

func objectWithStatus(t *testing.T, status string) *kratix.Object {
	t.Helper()
	indented := "  " + strings.ReplaceAll(strings.TrimRight(status, "\n"), "\n", "\n  ")
	obj, err := kratix.ParseObject([]byte("apiVersion: x.io/v1\nkind: T\nmetadata: {name: a}\nstatus:\n" + indented + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestRoundTrip(t *testing.T) {
	tests := []userState{
		{},
		{UserID: "2ZQ8", IssuedAt: 1767225600123456789, Permissions: []string{"a.>", "b"}, Sealed: map[string]string{"user.creds": "AgB…"}},
		{UserID: "yes", IssuedAt: -1}, // "yes" must stay a string through YAML
	}
	for _, want := range tests {
		got, found := roundTrip(t, want)
		if !found || !reflect.DeepEqual(got, want) {
			t.Errorf("round trip: got %+v (found %v), want %+v", got, found, want)
		}
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name, status string
		want         userState
		found        bool
		wantErr      string
	}{
		{name: "no status", status: "message: Pending", found: false},
		{name: "null", status: "natsUser: null", found: false},
		{name: "current", status: "natsUser: {schemaVersion: 2, userId: u1}", want: userState{UserID: "u1"}, found: true},
		{name: "migrated", status: "natsUser: {schemaVersion: 1, id: u1, issuedAt: 5}", want: userState{UserID: "u1", IssuedAt: 5}, found: true},
		{name: "newer release", status: "natsUser: {schemaVersion: 3, userId: u1}", wantErr: "written by a newer release"},
		{name: "no version", status: "natsUser: {userId: u1}", wantErr: "schemaVersion is missing"},
		{name: "bad version", status: "natsUser: {schemaVersion: 1.5}", wantErr: "not a positive integer"},
		{name: "unknown field", status: "natsUser: {schemaVersion: 2, userID: u1}", wantErr: "status.natsUser.userID: unknown field"},
		{name: "wrong type", status: "natsUser: {schemaVersion: 2, issuedAt: soon}", wantErr: "status.natsUser.issuedAt"},
		{name: "not an object", status: "natsUser: [1]", wantErr: "status.natsUser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := codec.Load(objectWithStatus(t, tt.status))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.found || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v found=%v, want %+v found=%v", got, found, tt.want, tt.found)
			}
		})
	}
}

func TestMissingMigrationIsAnError(t *testing.T) {
	c := Codec[userState]{Key: "natsUser", Version: 3}
	_, _, err := c.Load(objectWithStatus(t, "natsUser: {schemaVersion: 2, userId: u1}"))
	if err == nil || !strings.Contains(err.Error(), "no migration from schema version 2") {
		t.Fatalf("error = %v", err)
	}
}

func TestStoreRefusesReservedField(t *testing.T) {
	type bad struct {
		SchemaVersion int `json:"schemaVersion"`
	}
	var res kratix.Result
	err := Codec[bad]{Key: "k", Version: 1}.Store(&res, bad{SchemaVersion: 9})
	if err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("error = %v", err)
	}
	if err := (Codec[[]int]{Key: "k", Version: 1}).Store(&res, []int{1}); err == nil {
		t.Fatal("a list was stored as state")
	}
}

func TestStoredValueCarriesVersion(t *testing.T) {
	var res kratix.Result
	if err := codec.Store(&res, userState{UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(res.Status["natsUser"])
	if string(js) != `{"issuedAt":0,"schemaVersion":2,"userId":"u"}` {
		t.Errorf("stored %s", js)
	}
}
