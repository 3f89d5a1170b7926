// Package validate checks the Kubernetes manifests of deploy/kubernetes
// offline, with no cluster: every document listed by kustomization.yaml is
// decoded strictly into the Kubernetes API's own Go types (k8s.io/api), so
// an unknown or misspelled field, a wrong type or a malformed quantity is
// an error, and then checked against what the API server would refuse
// (names, selectors matching their templates, ports) and against what
// sessfs needs on EKS with the EFS CSI driver.
//
// It is its own module so that k8s.io/api stays out of the sessfs module
// and of every application's build.
package validate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Object is one decoded document.
type Object struct {
	File string
	Kind string
	Name string
	// Value is a pointer to the typed object (*appsv1.Deployment, ...).
	Value any
}

// kinds maps apiVersion/kind to a new typed object. A kind not listed
// is an error: the validator must know every type it is given.
var kinds = map[string]func() any{
	"v1/Service":                     func() any { return new(corev1.Service) },
	"v1/PersistentVolumeClaim":       func() any { return new(corev1.PersistentVolumeClaim) },
	"apps/v1/Deployment":             func() any { return new(appsv1.Deployment) },
	"batch/v1/CronJob":               func() any { return new(batchv1.CronJob) },
	"storage.k8s.io/v1/StorageClass": func() any { return new(storagev1.StorageClass) },
}

// kustomization is the part of kustomization.yaml read here; strict
// decoding refuses any other field, so one added there is added here too.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images"`
}

// Load decodes every document of every resource of dir's
// kustomization.yaml, strictly.
func Load(dir string) ([]Object, error) {
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		return nil, fmt.Errorf("kustomization.yaml: %w", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return nil, fmt.Errorf("kustomization.yaml: %s/%s is no Kustomization", k.APIVersion, k.Kind)
	}
	var objs []Object
	var errs []error
	for _, res := range k.Resources {
		b, err := os.ReadFile(filepath.Join(dir, res))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, doc := range splitDocs(b) {
			o, err := decode(doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d: %w", res, i+1, err))
				continue
			}
			o.File = res
			objs = append(objs, o)
		}
	}
	return objs, errors.Join(errs...)
}

func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), b...), []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

func decode(doc []byte) (Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return Object{}, err
	}
	newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return Object{}, fmt.Errorf("unknown apiVersion/kind %s/%s", tm.APIVersion, tm.Kind)
	}
	v := newObj()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return Object{}, err
	}
	meta := v.(metav1.ObjectMetaAccessor).GetObjectMeta()
	if msgs := validation.IsDNS1123Subdomain(meta.GetName()); len(msgs) > 0 {
		return Object{}, fmt.Errorf("%s name %q: %s", tm.Kind, meta.GetName(), strings.Join(msgs, "; "))
	}
	return Object{Kind: tm.Kind, Name: meta.GetName(), Value: v}, nil
}

// CheckPodTemplate checks what the API server would refuse in a pod
// template: the selector must select the template's labels, names must be
// DNS labels, probes must name declared ports.
func CheckPodTemplate(sel *metav1.LabelSelector, tpl *corev1.PodTemplateSpec) error {
	var errs []error
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			errs = append(errs, err)
		} else if s.Empty() || !s.Matches(labels.Set(tpl.Labels)) {
			errs = append(errs, fmt.Errorf("selector %v does not select the template's labels %v", sel.MatchLabels, tpl.Labels))
		}
	}
	for k, v := range tpl.Labels {
		if msgs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("label %s=%s: %s", k, v, strings.Join(msgs, "; ")))
		}
	}
	vols := map[string]bool{}
	for _, v := range tpl.Spec.Volumes {
		vols[v.Name] = true
	}
	for _, c := range tpl.Spec.Containers {
		if msgs := validation.IsDNS1123Label(c.Name); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("container %q: %s", c.Name, strings.Join(msgs, "; ")))
		}
		if c.Image == "" {
			errs = append(errs, fmt.Errorf("container %s: no image", c.Name))
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			if p.ContainerPort < 1 || p.ContainerPort > 65535 {
				errs = append(errs, fmt.Errorf("container %s: port %d", c.Name, p.ContainerPort))
			}
			if p.Name != "" {
				if msgs := validation.IsValidPortName(p.Name); len(msgs) > 0 {
					errs = append(errs, fmt.Errorf("container %s: port name %q: %s", c.Name, p.Name, strings.Join(msgs, "; ")))
				}
				ports[p.Name] = true
			}
		}
		for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if pr != nil && pr.HTTPGet != nil && pr.HTTPGet.Port.StrVal != "" && !ports[pr.HTTPGet.Port.StrVal] {
				errs = append(errs, fmt.Errorf("container %s: probe port %q is not declared", c.Name, pr.HTTPGet.Port.StrVal))
			}
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				errs = append(errs, fmt.Errorf("container %s: mount of undeclared volume %q", c.Name, m.Name))
			}
		}
	}
	return errors.Join(errs...)
}
