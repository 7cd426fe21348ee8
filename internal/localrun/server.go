package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/promisekit/promisekit/pkg/platformapi"
)

// apiServer keeps the runner's objects in a real API server as well as in
// its directory (Options.APIServer): the stages then read their siblings
// and delete their own request there, as on a cluster. The server owns
// identity: a new object takes the UID and creation time it assigns.
type apiServer struct {
	conn   *platformapi.Connection
	path   string // the resource's collection, without namespace: /apis/<group>/<version>
	plural string
}

func newAPIServer(dir, group, version, plural string) (*apiServer, error) {
	c, err := platformapi.ReadConnection(dir)
	if err != nil {
		return nil, err
	}
	return &apiServer{conn: c, path: "/apis/" + url.PathEscape(group) + "/" + url.PathEscape(version), plural: plural}, nil
}

func (s *apiServer) objectPath(namespace, name string) string {
	return s.path + "/namespaces/" + url.PathEscape(namespace) + "/" + s.plural + "/" + url.PathEscape(name)
}

// do sends one request and decodes a JSON answer into out (when not nil).
func (s *apiServer) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.conn.URL+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.conn.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.conn.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("platform API server: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		if resp.StatusCode == http.StatusNotFound {
			return resp.StatusCode, nil
		}
		var st struct {
			Message string `json:"message"`
		}
		json.Unmarshal(data, &st)
		return resp.StatusCode, fmt.Errorf("platform API server: %s %s: %s: %s", method, path, resp.Status, st.Message)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

// put stores obj: created if absent (adopting the server's uid and
// creationTimestamp), else its spec, labels and annotations replaced; then
// its status. obj is changed to carry the server's identity.
func (s *apiServer) put(ctx context.Context, obj map[string]any) error {
	namespace, name := namespaceName(obj)
	var stored map[string]any
	code, err := s.do(ctx, http.MethodGet, s.objectPath(namespace, name), nil, &stored)
	if err != nil {
		return err
	}
	if code == http.StatusNotFound {
		fresh := map[string]any{}
		for k, v := range obj {
			if k != "status" {
				fresh[k] = v
			}
		}
		meta := map[string]any{"name": name, "namespace": namespace}
		if m, ok := obj["metadata"].(map[string]any); ok {
			for _, k := range []string{"labels", "annotations"} {
				if v, ok := m[k]; ok {
					meta[k] = v
				}
			}
		}
		fresh["metadata"] = meta
		stored = nil
		if _, err := s.do(ctx, http.MethodPost, s.path+"/namespaces/"+url.PathEscape(namespace)+"/"+s.plural, fresh, &stored); err != nil {
			return err
		}
	} else {
		smeta := stored["metadata"].(map[string]any)
		if m, ok := obj["metadata"].(map[string]any); ok {
			for _, k := range []string{"labels", "annotations"} {
				smeta[k] = m[k]
			}
		}
		stored["spec"] = obj["spec"]
		if _, err := s.do(ctx, http.MethodPut, s.objectPath(namespace, name), stored, &stored); err != nil {
			return err
		}
	}
	smeta := stored["metadata"].(map[string]any)
	meta := obj["metadata"].(map[string]any)
	meta["uid"] = smeta["uid"]
	meta["creationTimestamp"] = smeta["creationTimestamp"]
	if status, ok := obj["status"]; ok {
		stored["status"] = status
		code, err := s.do(ctx, http.MethodPut, s.objectPath(namespace, name)+"/status", stored, nil)
		if err != nil {
			return err
		}
		if code == http.StatusNotFound {
			// No status subresource: status goes with the object.
			if _, err := s.do(ctx, http.MethodPut, s.objectPath(namespace, name), stored, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *apiServer) exists(ctx context.Context, namespace, name string) (bool, error) {
	code, err := s.do(ctx, http.MethodGet, s.objectPath(namespace, name), nil, nil)
	return code == http.StatusOK, err
}

func (s *apiServer) remove(ctx context.Context, namespace, name string) error {
	_, err := s.do(ctx, http.MethodDelete, s.objectPath(namespace, name), nil, nil)
	return err
}
