package apiaggregator

import (
	"strings"
	"testing"
	"time"
)

func TestPrecedes(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		a, b claimant
		want bool
	}{
		{claimant{"b", "x", at(0)}, claimant{"a", "x", at(1)}, true},             // older wins
		{claimant{"a", "x", at(1)}, claimant{"b", "x", at(0)}, false},            // newer loses
		{claimant{"a", "y", at(0)}, claimant{"b", "x", at(0)}, true},             // same time: namespace/name
		{claimant{"a-b", "x", at(0)}, claimant{"a", "x", at(0)}, true},           // "a-b/x" < "a/x", as Gateway API compares
		{claimant{"a", "x", at(0)}, claimant{"a", "x", time.Time{}}, true},       // a known time beats none
		{claimant{"a", "x", time.Time{}}, claimant{"b", "x", time.Time{}}, true}, // neither: by name
	}
	for _, tt := range tests {
		if got := tt.a.precedes(tt.b); got != tt.want {
			t.Errorf("%v@%v precedes %v@%v = %v, want %v", tt.a, tt.a.Created, tt.b, tt.b.Created, got, tt.want)
		}
		if tt.a.precedes(tt.b) == tt.b.precedes(tt.a) {
			t.Errorf("precedes is not antisymmetric for %v and %v", tt.a, tt.b)
		}
	}
}

func TestCheckConflicts(t *testing.T) {
	ref := objectRef{Namespace: "platform", Name: "portal"}
	me := claimant{"team-b", "billing", t0.Add(time.Hour)}
	older := sibling{claimant{"team-a", "orders", t0}, []string{"/orders", "/shared"}}
	oldest := sibling{claimant{"team-c", "legacy", t0.Add(-time.Hour)}, []string{"/shared"}}
	newer := sibling{claimant{"team-d", "late", t0.Add(2 * time.Hour)}, []string{"/billing", "/orders"}}
	tie := sibling{claimant{"team-a", "tie", me.Created}, []string{"/tie"}}

	tests := []struct {
		name     string
		paths    []string
		siblings []sibling
		want     []string // one substring per expected error, in order
	}{
		{"no siblings", []string{"/billing"}, nil, nil},
		{"distinct prefixes", []string{"/billing", "/orders/billing"}, []sibling{older, newer}, nil},
		{"a newer sibling's claim loses", []string{"/billing"}, []sibling{newer}, nil},
		{"an older sibling's claim wins", []string{"/billing", "/orders"}, []sibling{older}, []string{
			`spec.paths[1].prefix: "/orders" is already routed through ApiAggregator platform/portal by ApiAggregatorTarget team-a/orders (created earlier, at 2026-10-01T08:00:00Z)`,
		}},
		{"the oldest of several is named", []string{"/shared"}, []sibling{older, oldest}, []string{"team-c/legacy"}},
		{"a tie goes to the first by namespace/name", []string{"/tie"}, []sibling{tie}, []string{"team-a/tie (created at the same second"}},
		{"every conflicting path is named", []string{"/orders", "/x", "/shared"}, []sibling{older, oldest}, []string{"spec.paths[0].prefix", "spec.paths[2].prefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := make([]pathRule, len(tt.paths))
			for i, p := range tt.paths {
				paths[i] = pathRule{Prefix: p}
			}
			err := checkConflicts(paths, me, ref, tt.siblings)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("checkConflicts: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("checkConflicts found no conflict")
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q", msg, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}
