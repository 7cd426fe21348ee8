package motoserver

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestShared starts moto once, answers on loopback, and resets between uses.
func TestShared(t *testing.T) {
	var shared Shared
	defer shared.Close()
	s := shared.Get(t)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q is not on loopback", s.URL)
	}
	if again := shared.Get(t); again != s {
		t.Error("Get started a second server")
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/moto-api/data.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("moto answered %s", resp.Status)
	}
}
