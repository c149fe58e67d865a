// Command cluster is a multi-call binary for crosslink's test control plane.
// It is test tooling only. It dispatches on its first argument or on the name
// it was invoked as: etcd, kube-apiserver, kube-controller-manager.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func run(name string, args []string) (int, bool) {
	switch name {
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, args...))
		return 0, true
	case "kube-apiserver":
		os.Args = append([]string{name}, args...)
		return cli.Run(apiserver.NewAPIServerCommand()), true
	case "kube-controller-manager":
		os.Args = append([]string{name}, args...)
		return cli.Run(controllermanager.NewControllerManagerCommand()), true
	}
	return 0, false
}

func main() {
	if code, ok := run(filepath.Base(os.Args[0]), os.Args[1:]); ok {
		os.Exit(code)
	}
	if len(os.Args) > 1 {
		if code, ok := run(os.Args[1], os.Args[2:]); ok {
			os.Exit(code)
		}
	}
	fmt.Fprintf(os.Stderr, "usage: %s {%s} [flags...]\n", filepath.Base(os.Args[0]), "etcd|kube-apiserver|kube-controller-manager")
	os.Exit(2)
}
