// Command pulumi-language-nodejs is topoforge's own Node.js language host for the Pulumi engine.
//
// Why our own: upstream's host is a separate Go module (sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// that the Go module proxy reachable from the project's machines does not serve, and it is not
// shipped on npm. The engine talks to a language host over the LanguageRuntime gRPC service defined
// in sdk/v3 (served at v3.248.0), so this host implements the calls `pulumi preview/up/destroy/
// refresh/about` make: it starts `node` on the `cmd/run` entry point of the program's own
// @pulumi/pulumi package with the flags and environment that entry point reads, and reports which
// resource plugins the program's node_modules ask for. Everything the engine can live without
// (code generation, templates, packing) answers Unimplemented, which the engine handles.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// version is the @pulumi/pulumi release this host is built and tested with.
const version = "3.248.0"

// bailExitCode is what @pulumi/pulumi's cmd/run exits with after it has already shown the user an
// actionable error (nodeJSProcessExitedAfterLoggingUserActionableMessage): the engine must not
// print anything more.
const bailExitCode = 32

func main() {
	// The engine passes logging/tracing flags before the engine address (the last argument).
	// The sdk's logging package (glog) already registers -logtostderr and -v when it is linked in;
	// define them only where it did not, or flag panics on a redefinition.
	if flag.Lookup("logtostderr") == nil {
		flag.Bool("logtostderr", false, "log to stderr (accepted for compatibility)")
	}
	if flag.Lookup("v") == nil {
		flag.Int("v", 0, "log verbosity (accepted for compatibility)")
	}
	tracing := flag.String("tracing", "", "a Zipkin-compatible tracing endpoint")
	root := flag.String("root", "", "project root (accepted for compatibility)")
	flag.Parse()
	_ = root
	engine := ""
	if flag.NArg() > 0 {
		engine = flag.Arg(flag.NArg() - 1)
	}
	host := &nodeHost{engineAddress: engine, tracing: *tracing}
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	tracing       string
}

func (h *nodeHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *nodeHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetRequiredPlugins lists the resource plugins that packages in the program's node_modules declare
// in their package.json `pulumi` section (how @pulumi/kubernetes names its provider and version).
func (h *nodeHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd())
	modules := findNodeModules(dir)
	if modules == "" {
		return &pulumirpc.GetRequiredPluginsResponse{}, nil
	}
	seen := map[string]*pulumirpc.PluginDependency{}
	walkPackages(modules, func(pkgJSON string) {
		raw, err := os.ReadFile(pkgJSON)
		if err != nil {
			return
		}
		var pkg struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Pulumi  *struct {
				Resource bool   `json:"resource"`
				Name     string `json:"name"`
				Version  string `json:"version"`
				Server   string `json:"server"`
			} `json:"pulumi"`
		}
		if json.Unmarshal(raw, &pkg) != nil || pkg.Pulumi == nil || !pkg.Pulumi.Resource {
			return
		}
		name := pkg.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(pkg.Name, "@pulumi/")
		}
		v := pkg.Pulumi.Version
		if v == "" {
			v = pkg.Version
		}
		seen[name+"@"+v] = &pulumirpc.PluginDependency{Name: name, Kind: "resource", Version: "v" + strings.TrimPrefix(v, "v"), Server: pkg.Pulumi.Server}
	})
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*pulumirpc.PluginDependency, 0, len(keys))
	for _, k := range keys {
		out = append(out, seen[k])
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: out}, nil
}

// walkPackages calls fn for node_modules/<pkg>/package.json and node_modules/@scope/<pkg>/package.json.
func walkPackages(modules string, fn func(string)) {
	entries, err := os.ReadDir(modules)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(modules, e.Name())
		if strings.HasPrefix(e.Name(), "@") {
			scoped, err := os.ReadDir(p)
			if err != nil {
				continue
			}
			for _, s := range scoped {
				fn(filepath.Join(p, s.Name(), "package.json"))
			}
			continue
		}
		fn(filepath.Join(p, "package.json"))
	}
}

func programDir(info *pulumirpc.ProgramInfo, pwd string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	return pwd
}

// findNodeModules returns the nearest node_modules directory at or above dir.
func findNodeModules(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// findRunEntry returns @pulumi/pulumi's cmd/run directory as Node would resolve it from dir.
func findRunEntry(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", "run")
		if _, err := os.Stat(filepath.Join(p, "index.js")); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("@pulumi/pulumi is not installed for the program in %s: run `npm ci` there first", dir)
		}
	}
}

func optionString(opts *structpb.Struct, key string) (string, bool) {
	if opts == nil {
		return "", false
	}
	v, ok := opts.GetFields()[key]
	if !ok {
		return "", false
	}
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return k.StringValue, true
	case *structpb.Value_BoolValue:
		return strconv.FormatBool(k.BoolValue), true
	default:
		return "", false
	}
}

func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd())
	runEntry, err := findRunEntry(dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "node is not on PATH"}, nil
	}
	opts := req.GetInfo().GetOptions()
	var args []string
	if nodeargs, ok := optionString(opts, "nodeargs"); ok && nodeargs != "" {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, runEntry,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+h.engineAddress,
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+req.GetPwd(),
	)
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	if root := req.GetInfo().GetRootDirectory(); root != "" {
		args = append(args, "--root-directory="+root)
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		args = append(args, "--parallel="+strconv.Itoa(int(req.GetParallel())))
	}
	if h.tracing != "" {
		args = append(args, "--tracing="+h.tracing)
	}
	program := req.GetProgram()
	if ep := req.GetInfo().GetEntryPoint(); ep != "" {
		program = ep
	}
	if program == "" {
		program = "."
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secrets))
	typescript := "true" // the engine's default for the nodejs runtime
	if v, ok := optionString(opts, "typescript"); ok {
		typescript = v
	}
	env = append(env, "PULUMI_NODEJS_TYPESCRIPT="+typescript)
	if v, ok := optionString(opts, "tsconfig"); ok && v != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+v)
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	// The engine relays this host's stdout/stderr to the user, so the program's output reaches them.
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == bailExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("the Node.js program exited with code %d", exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

func (h *nodeHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, "node is not on PATH")
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimPrefix(strings.TrimSpace(string(out)), "v")}, nil
}

// InstallDependencies runs `npm ci` (a lockfile is present) or `npm install` in the program directory,
// streaming npm's output to the engine.
func (h *nodeHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := programDir(req.GetInfo(), req.GetDirectory())
	verb := "install"
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err == nil {
		verb = "ci"
	}
	cmd := exec.CommandContext(stream.Context(), "npm", verb)
	cmd.Dir = dir
	w := &streamWriter{stream: stream}
	cmd.Stdout = w
	cmd.Stderr = &streamWriter{stream: stream, stderr: true}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %s in %s: %w", verb, dir, err)
	}
	return nil
}

type streamWriter struct {
	stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]
	stderr bool
}

func (w *streamWriter) Write(p []byte) (int, error) {
	msg := &pulumirpc.InstallDependenciesResponse{}
	if w.stderr {
		msg.Stderr = append([]byte(nil), p...)
	} else {
		msg.Stdout = append([]byte(nil), p...)
	}
	if err := w.stream.Send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}
