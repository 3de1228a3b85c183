// Command validate checks Kubernetes manifests against the real Kubernetes API types with strict
// decoding: unknown or duplicate fields, wrong types and unknown kinds are errors.
// Usage: go run . FILE.yaml...
package main

import (
	"bytes"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate FILE.yaml...")
		os.Exit(2)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, rbacv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	failed := 0
	count := 0
	for _, file := range os.Args[1:] {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			failed++
			continue
		}
		reader := utilyaml.NewYAMLReader(bufioReader(data))
		for i := 0; ; i++ {
			doc, err := reader.Read()
			if err != nil {
				break
			}
			if len(bytes.TrimSpace(doc)) == 0 || isOnlyComments(doc) {
				continue
			}
			count++
			obj, gvk, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s (document %d): %v\n", file, i+1, err)
				failed++
				continue
			}
			fmt.Printf("%s: %s %s ok\n", file, gvk.Kind, name(obj))
		}
	}
	if count == 0 {
		fmt.Fprintln(os.Stderr, "no documents")
		os.Exit(1)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d documents invalid\n", failed, count)
		os.Exit(1)
	}
	fmt.Printf("%d documents valid\n", count)
}
