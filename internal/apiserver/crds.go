package apiserver

import (
	"context"
	"fmt"
	"os"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/crdcheck"
)

// crdResource is what Reset needs of an installed CRD.
type crdResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
	// served are the versions the CRD serves.
	served []string
	// status says the storage version has a status subresource: status
	// is then written apart from the rest of the object.
	status bool
}

// InstallPromiseFiles installs the CRD in each Promise file's spec.api;
// see InstallCRD.
func (s *Server) InstallPromiseFiles(ctx context.Context, paths ...string) error {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading Promise: %w", err)
		}
		crd, err := crdcheck.PromiseCRD(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := s.InstallCRD(ctx, crd); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// InstallCRD creates a CustomResourceDefinition (YAML or JSON) and waits
// until the server serves it. The server checks it as on a cluster: a
// schema that is not structural, or CEL rules over their cost budget, are
// refused with the server's message. A CRD already installed with the same
// name is left as it is.
func (s *Server) InstallCRD(ctx context.Context, crdYAML []byte) error {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(crdYAML, &crd); err != nil {
		return fmt.Errorf("decoding CRD: %w", err)
	}
	if _, ok := s.crds[crd.Name]; ok {
		return nil
	}
	client, err := s.extensions()
	if err != nil {
		return err
	}
	crds := client.ApiextensionsV1().CustomResourceDefinitions()
	if _, err := crds.Create(ctx, &crd, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.NamesAccepted && c.Status == apiextensionsv1.ConditionFalse {
				return false, fmt.Errorf("names not accepted: %s", c.Message)
			}
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s: %w", crd.Name, err)
	}
	r := crdResource{
		kind:       crd.Spec.Names.Kind,
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
	}
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			r.gvr = schema.GroupVersionResource{Group: crd.Spec.Group, Version: v.Name, Resource: crd.Spec.Names.Plural}
			r.status = v.Subresources != nil && v.Subresources.Status != nil
		}
		if v.Served {
			r.served = append(r.served, v.Name)
		}
	}
	// Established says the CRD is accepted; the handler for its objects
	// may still answer 404 for a moment.
	dyn, err := s.Dynamic()
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(r.gvr).List(ctx, metav1.ListOptions{Limit: 1})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to be served: %w", r.gvr, err)
	}
	s.crds[crd.Name] = r
	return nil
}

// Reset deletes every object of every CRD installed, in every namespace,
// and waits until they are gone; the CRDs stay.
func (s *Server) Reset(ctx context.Context) error {
	dyn, err := s.Dynamic()
	if err != nil {
		return err
	}
	for name, r := range s.crds {
		res := dyn.Resource(r.gvr)
		// A namespaced resource has no collection across namespaces to
		// delete: delete each namespace's.
		list, err := res.List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing every %s: %w", name, err)
		}
		namespaces := map[string]bool{}
		for _, item := range list.Items {
			namespaces[item.GetNamespace()] = true
		}
		for ns := range namespaces {
			var rc dynamic.ResourceInterface = res
			if r.namespaced {
				rc = res.Namespace(ns)
			}
			if err := rc.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
				return fmt.Errorf("deleting every %s in %q: %w", name, ns, err)
			}
		}
		err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			list, err := res.List(ctx, metav1.ListOptions{Limit: 1})
			return err == nil && len(list.Items) == 0, err
		})
		if err != nil {
			return fmt.Errorf("waiting for every %s to go: %w", name, err)
		}
	}
	return nil
}
