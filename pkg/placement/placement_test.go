package placement

import (
	"strings"
	"testing"

	"github.com/promisekit/promisekit/pkg/kratix"
)

func TestValidate(t *testing.T) {
	a := Destination{Name: "cluster-a", MatchLabels: map[string]string{"cluster": "a"}, Requestable: true}
	b := Destination{Name: "cluster-b", MatchLabels: map[string]string{"cluster": "b"}}
	tests := []struct {
		name  string
		dests []Destination
		def   string
		want  string // "" for valid; else a substring of the errors
	}{
		{"none", nil, "", ""},
		{"a default with none", nil, "cluster-a", "config.defaultDestination: names a destination, but config.destinations lists none"},
		{"two, one requestable", []Destination{a, b}, "", ""},
		{"two, a default", []Destination{b, {Name: "cluster-c", MatchLabels: map[string]string{"cluster": "c"}}}, "cluster-b", ""},
		{"nothing to place on", []Destination{b}, "", "config.defaultDestination: required"},
		{"an unknown default", []Destination{a}, "cluster-z", `config.destinations has no destination "cluster-z"`},
		{"a name twice", []Destination{a, {Name: "cluster-a", MatchLabels: map[string]string{"cluster": "x"}}}, "", "config.destinations[1].name: repeats config.destinations[0].name"},
		{"a name that is no DNS label", []Destination{{Name: "Cluster_A", MatchLabels: map[string]string{"c": "a"}, Requestable: true}}, "", "config.destinations[0].name: must be a DNS label"},
		{"no labels", []Destination{{Name: "a", Requestable: true}}, "", "config.destinations[0].matchLabels: must hold at least one label"},
		{"a bad label key", []Destination{{Name: "a", MatchLabels: map[string]string{"bad key": "x"}, Requestable: true}}, "", `"bad key" is not a label key`},
		{"a bad label value", []Destination{{Name: "a", MatchLabels: map[string]string{"k": "bad value"}, Requestable: true}}, "", `config.destinations[0].matchLabels.k: "bad value" is not a label value`},
		{"labels one cluster could match both", []Destination{a, {Name: "wide", MatchLabels: map[string]string{"cluster": "a", "zone": "eu"}}}, "", "config.destinations[1].matchLabels: a cluster that config.destinations[0].matchLabels selects would match both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs kratix.FieldErrors
			Validate(&errs, tt.dests, tt.def)
			err := errs.Err()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	dests := []Destination{
		{Name: "cluster-a", MatchLabels: map[string]string{"cluster": "a"}},
		{Name: "cluster-b", MatchLabels: map[string]string{"cluster": "b"}, Requestable: true},
		{Name: "cluster-c", MatchLabels: map[string]string{"cluster": "c"}},
	}
	tests := []struct {
		name           string
		dests          []Destination
		def, requested string
		want           int
		wantErr        string
	}{
		{"implicit", nil, "", "", -1, ""},
		{"implicit, one named", nil, "", "cluster-a", -1, "spec.destination: this platform has one destination for every widget: leave it out"},
		{"the default", dests, "cluster-a", "", 0, ""},
		{"the default, named", dests, "cluster-a", "cluster-a", 0, ""},
		{"a requestable one", dests, "cluster-a", "cluster-b", 1, ""},
		{"one not requestable", dests, "cluster-a", "cluster-c", -1, `spec.destination: "cluster-c" is not a destination a request may choose on this platform (choose one of cluster-a, cluster-b)`},
		{"an unknown one", dests, "cluster-a", "cluster-z", -1, `"cluster-z" is not a destination`},
		{"no default, none named", dests, "", "", -1, "spec.destination: required: this platform has no default destination; choose one of cluster-b"},
		{"not a DNS label", dests, "cluster-a", "Cluster B", -1, "spec.destination: must be a DNS label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Choose(tt.dests, tt.def, tt.requested, "widget")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Choose = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
