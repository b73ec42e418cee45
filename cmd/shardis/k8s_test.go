package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/shardis/shardis/configs"
	"github.com/shardis/shardis/metrics"
)

// k8sDir holds the Kubernetes manifests.
var k8sDir = filepath.Join("..", "..", "docker", "k8s")

// k8sManifests is every object of every manifest, by kind.
type k8sManifests struct {
	services     map[string]*corev1.Service
	statefulSets []*appsv1.StatefulSet
	deployments  []*appsv1.Deployment
	pdbs         []*policyv1.PodDisruptionBudget
	jobs         []*batchv1.Job
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// loadK8s decodes every document of every .yaml file under docker/k8s
// strictly (see decodeStrict) into the API type of
// its kind: without a cluster to apply them to, that is how a misspelt or
// misplaced field is caught.
func loadK8s(t *testing.T) k8sManifests {
	t.Helper()
	m := k8sManifests{services: map[string]*corev1.Service{}}
	files := 0
	err := filepath.WalkDir(k8sDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range docSeparator.Split(string(data), -1) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Errorf("%s document %d: %v", path, i, err)
				continue
			}
			if tm.Kind == "" && tm.APIVersion == "" {
				continue // comments only
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 Service":
				obj = &corev1.Service{}
			case "apps/v1 StatefulSet":
				obj = &appsv1.StatefulSet{}
			case "apps/v1 Deployment":
				obj = &appsv1.Deployment{}
			case "policy/v1 PodDisruptionBudget":
				obj = &policyv1.PodDisruptionBudget{}
			case "batch/v1 Job":
				obj = &batchv1.Job{}
			default:
				t.Errorf("%s document %d: unexpected %s %s", path, i, tm.APIVersion, tm.Kind)
				continue
			}
			if err := decodeStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s document %d (%s): %v", path, i, tm.Kind, err)
				continue
			}
			switch o := obj.(type) {
			case *corev1.Service:
				m.services[o.Name] = o
			case *appsv1.StatefulSet:
				m.statefulSets = append(m.statefulSets, o)
			case *appsv1.Deployment:
				m.deployments = append(m.deployments, o)
			case *policyv1.PodDisruptionBudget:
				m.pdbs = append(m.pdbs, o)
			case *batchv1.Job:
				m.jobs = append(m.jobs, o)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no manifests in %s", k8sDir)
	}
	return m
}

// decodeStrict decodes a YAML document into obj as the API server's strict
// field validation does: field names match case-sensitively, and unknown or
// duplicate fields are errors.
func decodeStrict(doc []byte, obj any) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// k8sNamespace is the namespace the manifests are checked in.
const k8sNamespace = "shardis-test"

// expandArgs resolves the $(VAR) references of c's args the way the
// kubelet does, from c's env with the pod's downward-API fields; a
// reference to a variable c does not define is an error (Kubernetes would
// pass it on as written).
func expandArgs(t *testing.T, c corev1.Container, podName, podIP string) []string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil:
			v, ok := map[string]string{"metadata.name": podName, "metadata.namespace": k8sNamespace, "status.podIP": podIP}[e.ValueFrom.FieldRef.FieldPath]
			if !ok {
				t.Errorf("%s: env %s from unexpected field %s", c.Name, e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			env[e.Name] = v
		default:
			t.Errorf("%s: env %s from an unexpected source", c.Name, e.Name)
		}
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	out := make([]string, len(c.Args))
	for i, a := range c.Args {
		out[i] = ref.ReplaceAllStringFunc(a, func(m string) string {
			name := ref.FindStringSubmatch(m)[1]
			v, ok := env[name]
			if !ok {
				t.Errorf("%s: %q refers to $(%s), which the container's env does not define", c.Name, a, name)
			}
			return v
		})
	}
	return out
}

// checkFlagsExist fails for every flag in args that the subcommand lacks.
func checkFlagsExist(t *testing.T, where, sub string, args []string) {
	t.Helper()
	c, ok := findCommand(sub)
	if !ok || c.flags == nil {
		t.Errorf("%s: %q is not a shardis subcommand with flags", where, sub)
		return
	}
	fs := c.flags()
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if fs.Lookup(n) == nil {
				t.Errorf("%s: shardis %s has no flag --%s", where, sub, n)
			}
		}
	}
}

// parseShard and parseProxy run the real flag parsing and validation.
func parseShard(t *testing.T, where string, args []string) configs.ShardFile {
	t.Helper()
	checkFlagsExist(t, where, "shard", args)
	c, _ := findCommand("shard")
	var stdout, stderr bytes.Buffer
	f, code, _ := parseRole(c, args, &stdout, &stderr, configs.DefaultShardFile, configs.LoadShardFile, (*configs.ShardFile).RegisterFlags)
	if code != exitOK {
		t.Errorf("%s: shardis shard rejects its arguments (exit %d):\n%s", where, code, stderr.String())
	}
	return f
}

func parseProxy(t *testing.T, where string, args []string) configs.ProxyFile {
	t.Helper()
	checkFlagsExist(t, where, "proxy", args)
	c, _ := findCommand("proxy")
	var stdout, stderr bytes.Buffer
	f, code, _ := parseRole(c, args, &stdout, &stderr, configs.DefaultProxyFile, configs.LoadProxyFile, (*configs.ProxyFile).RegisterFlags)
	if code != exitOK {
		t.Errorf("%s: shardis proxy rejects its arguments (exit %d):\n%s", where, code, stderr.String())
	}
	return f
}

func addrPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil {
		t.Errorf("%q is not HOST:PORT", addr)
	}
	return int32(n)
}

// containerPort finds the port of c named name, or numbered so.
func containerPort(c corev1.Container, name string, proto corev1.Protocol) (int32, bool) {
	for _, p := range c.Ports {
		pp := p.Protocol
		if pp == "" {
			pp = corev1.ProtocolTCP
		}
		if pp == proto && (p.Name == name || strconv.Itoa(int(p.ContainerPort)) == name) {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

func hasPort(c corev1.Container, port int32, proto corev1.Protocol) bool {
	_, ok := containerPort(c, strconv.Itoa(int(port)), proto)
	return ok
}

// checkPod checks what every shardis pod needs: probes on the metrics
// port at paths the binary serves, scrape annotations naming that port,
// and a container port for each listener.
func checkPod(t *testing.T, where string, tmpl corev1.PodTemplateSpec, c corev1.Container, metricsAddr string, listens []string) {
	t.Helper()
	served := httptest.NewServer(metrics.Handler(metrics.NewRegistry(), false, nil))
	defer served.Close()
	serves := func(path string) bool {
		resp, err := http.Get(served.URL + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	mport := addrPort(t, metricsAddr)
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil {
			if name != "startup" {
				t.Errorf("%s: no %s probe", where, name)
			}
			continue
		}
		if p.HTTPGet == nil {
			t.Errorf("%s: %s probe is not an HTTP GET", where, name)
			continue
		}
		if port, ok := containerPort(c, p.HTTPGet.Port.String(), corev1.ProtocolTCP); !ok || port != mport {
			t.Errorf("%s: %s probe on port %s, not the metrics port %d", where, name, p.HTTPGet.Port.String(), mport)
		}
		if !serves(p.HTTPGet.Path) {
			t.Errorf("%s: %s probe path %s is not served by the metrics handler", where, name, p.HTTPGet.Path)
		}
	}
	ann := tmpl.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(int(mport)) || !serves(ann["prometheus.io/path"]) {
		t.Errorf("%s: scrape annotations %v do not name the metrics port %d and /metrics", where, ann, mport)
	}
	for _, l := range append(listens, metricsAddr) {
		if !hasPort(c, addrPort(t, l), corev1.ProtocolTCP) {
			t.Errorf("%s: listens on %s without a container port for it", where, l)
		}
	}
}

// selects reports whether sel picks the pods of tmpl.
func selects(sel map[string]string, tmpl corev1.PodTemplateSpec) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(tmpl.Labels))
}

// TestK8sManifests checks docker/k8s against the binary and against what
// the cluster needs: every shardis container's flags exist and validate
// (with the pod's downward-API values filled in, for voters and for a pod
// added by scaling up); the voters are the StatefulSet's first three pods,
// listed by their stable DNS names, and advertise those; every pod joins
// the shards' headless Service; the proxies sit behind a ClusterIP Service
// on 6379; and the probes, scrape annotations, volumes and disruption
// budget fit.
func TestK8sManifests(t *testing.T) {
	m := loadK8s(t)
	if len(m.statefulSets) != 1 || len(m.deployments) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("want one StatefulSet, one Deployment and one PodDisruptionBudget; got %d, %d, %d",
			len(m.statefulSets), len(m.deployments), len(m.pdbs))
	}
	sts := m.statefulSets[0]
	headless, ok := m.services[sts.Spec.ServiceName]
	switch {
	case !ok:
		t.Fatalf("StatefulSet %s: no Service %q", sts.Name, sts.Spec.ServiceName)
	case headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses:
		t.Errorf("Service %s: clusterIP %q, publishNotReadyAddresses %v; want a headless Service that publishes pods before they are ready",
			headless.Name, headless.Spec.ClusterIP, headless.Spec.PublishNotReadyAddresses)
	case !selects(headless.Spec.Selector, sts.Spec.Template):
		t.Errorf("Service %s does not select the StatefulSet's pods", headless.Name)
	}
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas < 3 {
		t.Errorf("StatefulSet %s: replicas %v, want at least 3 (the voters)", sts.Name, sts.Spec.Replicas)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("StatefulSet %s: pods start %q; the voters must start together to elect a leader", sts.Name, sts.Spec.PodManagementPolicy)
	}
	shardDNS := func(pod string) string {
		return fmt.Sprintf("%s.%s.%s.svc.cluster.local", pod, headless.Name, k8sNamespace)
	}
	serviceDNS := fmt.Sprintf("%s.%s.svc.cluster.local", headless.Name, k8sNamespace)

	var partitions []int
	var shardGossip int32
	for _, c := range sts.Spec.Template.Spec.Containers {
		if len(c.Args) == 0 || c.Args[0] != "shard" {
			t.Errorf("StatefulSet container %s does not run shardis shard: %v", c.Name, c.Args)
			continue
		}
		// Pods 0-2 (the voters), and pod 3, which scaling up adds.
		for ord := 0; ord <= 3; ord++ {
			pod := fmt.Sprintf("%s-%d", sts.Name, ord)
			where := "pod " + pod
			f := parseShard(t, where, expandArgs(t, c, pod, fmt.Sprintf("10.0.0.%d", 10+ord))[1:])
			partitions = append(partitions, f.Partitions)
			if f.ID != pod {
				t.Errorf("%s: --id %q, want the pod name", where, f.ID)
			}
			if f.Voter() != (ord < 3) {
				t.Errorf("%s: voter %v, want the first three pods and only them", where, f.Voter())
			}
			var voters []string
			for _, v := range f.Voters {
				voters = append(voters, v.ID+"="+v.Addr)
			}
			var want []string
			for i := range 3 {
				p := fmt.Sprintf("%s-%d", sts.Name, i)
				want = append(want, fmt.Sprintf("%s=%s:%d", p, shardDNS(p), addrPort(t, f.RaftAddr)))
			}
			if !slices.Equal(voters, want) {
				t.Errorf("%s: --voter %v, want the first three pods' DNS names %v", where, voters, want)
			}
			for flag, adv := range map[string]string{"advertise-addr": f.AdvertiseAddr, "advertise-raft-addr": f.AdvertiseRaftAddr} {
				bind := map[string]string{"advertise-addr": f.Addr, "advertise-raft-addr": f.RaftAddr}[flag]
				if want := fmt.Sprintf("%s:%d", shardDNS(pod), addrPort(t, bind)); adv != want {
					t.Errorf("%s: --%s %q, want %q (the pod's stable name)", where, flag, adv, want)
				}
			}
			if ord < 3 && f.AdvertiseRaftAddr != f.Voters[ord].Addr {
				t.Errorf("%s: advertises Raft at %s, the voter list says %s", where, f.AdvertiseRaftAddr, f.Voters[ord].Addr)
			}
			shardGossip = addrPort(t, f.GossipAddr)
			if want := fmt.Sprintf("%s:%d", serviceDNS, shardGossip); !slices.Equal(f.Join, []string{want}) {
				t.Errorf("%s: --join %v, want the headless Service %s", where, f.Join, want)
			}
			if h, _, _ := net.SplitHostPort(f.AdvertiseGossipAddr); h != fmt.Sprintf("10.0.0.%d", 10+ord) {
				t.Errorf("%s: --advertise-gossip-addr %q, want the pod's IP", where, f.AdvertiseGossipAddr)
			}
			if f.Memory || !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool {
				return vm.MountPath == f.DataDir && slices.ContainsFunc(sts.Spec.VolumeClaimTemplates, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == vm.Name })
			}) {
				t.Errorf("%s: data dir %s is not a persistent volume claim", where, f.DataDir)
			}
			if ord == 0 {
				checkPod(t, "StatefulSet "+sts.Name, sts.Spec.Template, c, f.MetricsAddr, []string{f.Addr, f.GossipAddr, f.RaftAddr})
				if !hasPort(c, shardGossip, corev1.ProtocolUDP) {
					t.Errorf("StatefulSet %s: no UDP container port for gossip %d", sts.Name, shardGossip)
				}
			}
		}
	}

	pdb := m.pdbs[0]
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget %s: maxUnavailable %v, want 1", pdb.Name, pdb.Spec.MaxUnavailable)
	}
	if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, sts.Spec.Template) {
		t.Errorf("PodDisruptionBudget %s does not select the shards", pdb.Name)
	}

	dep := m.deployments[0]
	var proxySvc *corev1.Service
	for _, s := range m.services {
		if s != headless && selects(s.Spec.Selector, dep.Spec.Template) {
			proxySvc = s
		}
	}
	if proxySvc == nil || (proxySvc.Spec.Type != "" && proxySvc.Spec.Type != corev1.ServiceTypeClusterIP) {
		t.Fatalf("no ClusterIP Service selects the proxies (%v)", proxySvc)
	}
	for _, c := range dep.Spec.Template.Spec.Containers {
		if len(c.Args) == 0 || c.Args[0] != "proxy" {
			t.Errorf("Deployment container %s does not run shardis proxy: %v", c.Name, c.Args)
			continue
		}
		where := "Deployment " + dep.Name
		f := parseProxy(t, where, expandArgs(t, c, dep.Name+"-7d9f-abcde", "10.0.1.5")[1:])
		partitions = append(partitions, f.Partitions)
		if !f.Member() || len(f.Shards) > 0 || f.ID != dep.Name+"-7d9f-abcde" {
			t.Errorf("%s: not a cluster member named after its pod (id %q, shards %v)", where, f.ID, f.Shards)
		}
		if want := fmt.Sprintf("%s:%d", serviceDNS, shardGossip); !slices.Equal(f.Join, []string{want}) {
			t.Errorf("%s: --join %v, want the shards' headless Service %s", where, f.Join, want)
		}
		client := addrPort(t, f.Addr)
		if len(proxySvc.Spec.Ports) != 1 || proxySvc.Spec.Ports[0].Port != 6379 {
			t.Errorf("Service %s: ports %v, want 6379", proxySvc.Name, proxySvc.Spec.Ports)
		} else if p, ok := containerPort(c, proxySvc.Spec.Ports[0].TargetPort.String(), corev1.ProtocolTCP); !ok || p != client {
			t.Errorf("Service %s: target port %s is not the proxy's client port %d", proxySvc.Name, proxySvc.Spec.Ports[0].TargetPort.String(), client)
		}
		checkPod(t, where, dep.Spec.Template, c, f.MetricsAddr, []string{f.Addr, f.GossipAddr})
		if !hasPort(c, addrPort(t, f.GossipAddr), corev1.ProtocolUDP) {
			t.Errorf("%s: no UDP container port for gossip", where)
		}
	}
	slices.Sort(partitions)
	if len(slices.Compact(partitions)) != 1 {
		t.Errorf("shards and proxies disagree on --partitions: %v", partitions)
	}

	// Admin Jobs: every flag exists, and they talk to the proxy Service.
	for _, job := range m.jobs {
		for _, c := range job.Spec.Template.Spec.Containers {
			where := "Job " + job.Name
			if len(c.Args) == 0 {
				t.Errorf("%s: no shardis command", where)
				continue
			}
			sub, args := c.Args[0], expandArgs(t, c, job.Name+"-x1y2z", "10.0.2.5")[1:]
			cmd, ok := findCommand(sub)
			if !ok && sub == "decommission" {
				t.Logf("%s: this binary has no decommission command yet; its flags are not checked", where)
				continue
			}
			checkFlagsExist(t, where, sub, args)
			if ok && cmd.flags != nil {
				fs := cmd.flags()
				if err := fs.Parse(args); err != nil {
					t.Errorf("%s: shardis %s %v: %v", where, sub, args, err)
				} else if fs.NArg() != 1 {
					t.Errorf("%s: shardis %s wants flags and then one shard, got %q after the flags", where, sub, fs.Args())
				}
				if a := fs.Lookup("addr"); a == nil || a.Value.String() != fmt.Sprintf("%s:%d", proxySvc.Name, proxySvc.Spec.Ports[0].Port) {
					t.Errorf("%s: does not talk to the proxy Service %s", where, proxySvc.Name)
				}
			}
		}
	}
}
