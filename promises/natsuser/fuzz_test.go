package natsuser

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/promisekit/promisekit/pkg/k8sname"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// FuzzDecodeRequest feeds arbitrary objects to the request decoder: it
// must never panic, and what it accepts must be a request the stage can
// act on. The examples and the hostile corpus (testdata/hostile) seed it.
func FuzzDecodeRequest(f *testing.F) {
	examples, _ := filepath.Glob("examples/*.yaml")
	hostile, _ := filepath.Glob("testdata/hostile/natsuser/*.yaml")
	if len(hostile) == 0 {
		f.Fatal("no hostile corpus found to seed from")
	}
	for _, e := range append(examples, hostile...) {
		if data, err := os.ReadFile(e); err == nil {
			f.Add(data)
		}
	}
	f.Add(newRequest("orders-api", ordersSpec))
	f.Add(newRequest("x", `publish: {allow: ["a.>", "a.>"]}`))
	f.Add(newRequest("x", `credentials: {lifetime: 1h, renewBefore: 59m}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := kratix.ParseObject(data)
		if err != nil {
			return
		}
		r, err := decodeRequest(obj)
		if err != nil {
			return
		}
		switch {
		case r.renewBefore >= r.settings.Lifetime || r.settings.Lifetime < minLifetime:
			t.Fatalf("accepted lifetime %s with renewal %s", r.settings.Lifetime, r.renewBefore)
		case !k8sname.IsDNSSubdomain(r.secretName) || !k8sname.IsConfigMapKey(r.secretKey):
			t.Fatalf("accepted Secret %q key %q", r.secretName, r.secretKey)
		}
		for _, list := range [][]string{r.settings.Publish.Allow, r.settings.Publish.Deny, r.settings.Subscribe.Allow, r.settings.Subscribe.Deny} {
			for _, s := range list {
				if !subjectRE.MatchString(s) {
					t.Fatalf("accepted subject %q", s)
				}
			}
		}
		_ = r.settings.Hash()
	})
}
