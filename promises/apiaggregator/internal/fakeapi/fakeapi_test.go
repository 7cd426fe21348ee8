package fakeapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/pkg/platformapi"
)

var things = platformapi.Resource{Group: "example.promisekit.io", Version: "v1", Plural: "things"}

func TestListPagesAndGrants(t *testing.T) {
	s := New(t, Grant{Group: things.Group, Resource: things.Plural, Verb: "list"})
	s.PageSize = 2
	for i := range 5 {
		ns := "a"
		if i%2 == 1 {
			ns = "b"
		}
		obj := fmt.Sprintf("apiVersion: example.promisekit.io/v1\nkind: Thing\nmetadata: {name: t%d, namespace: %s}\n", i, ns)
		if err := s.Put(things, []byte(obj)); err != nil {
			t.Fatal(err)
		}
	}
	c := s.Client()
	all, err := c.List(context.Background(), things, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range all {
		names = append(names, o.Metadata.Namespace+"/"+o.Metadata.Name)
	}
	if got := strings.Join(names, " "); got != "a/t0 a/t2 a/t4 b/t1 b/t3" {
		t.Errorf("list = %s", got)
	}
	if n := len(s.Requests()); n != 3 {
		t.Errorf("%d requests for 5 objects in pages of 2", n)
	}
	inB, err := c.List(context.Background(), things, "b")
	if err != nil || len(inB) != 2 {
		t.Errorf("list in b = %d objects, %v", len(inB), err)
	}
	s.Remove(things, "b", "t1")
	if inB, _ := c.List(context.Background(), things, "b"); len(inB) != 1 {
		t.Errorf("after Remove, list in b = %d objects", len(inB))
	}

	// Anything not granted is forbidden.
	other := platformapi.Resource{Group: things.Group, Version: "v1", Plural: "others"}
	if _, err := c.List(context.Background(), other, ""); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("list of an ungranted resource: %v", err)
	}
	if err := c.Delete(context.Background(), things, "a", "t0", "uid"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("delete without a grant: %v", err)
	}
	bad := platformapi.NewServer(s.URL(), "wrong", s.HTTPClient())
	if _, err := bad.List(context.Background(), things, ""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("list with a wrong token: %v", err)
	}
}
