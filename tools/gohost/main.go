// Command gohost loads the k8s-attestor plugin the way spire-agent's catalog does, with the real
// hashicorp/go-plugin client and grpc-go (the Debian packages: go-plugin 1.0.1, grpc-go 1.33), and checks
// every step. It prints one line per check, "PASS <name>" or "FAIL <name>: <detail>", plus "INFO" lines
// with timings, and exits 1 if any check failed (2 for bad arguments).
//
// Usage:
//
//	gohost [flags] -- <plugin command> [args...]
//
// See README.md in this directory for the flags and the checks.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// Names and values fixed by SPIRE (pkg/common/catalog, the plugin SDK).
const (
	cookie             = "WorkloadAttestor"
	pluginName         = "workloadattestor"
	hostServiceID      = 1 // private.HostServiceProviderID
	metricsHostService = "spire.hostservice.common.metrics.v1.Metrics"
	attestorService    = "spire.plugin.agent.workloadattestor.v1.WorkloadAttestor"
	configService      = "spire.service.common.config.v1.Config"
	pidReferenceType   = "type.googleapis.com/spiffe.broker.WorkloadPIDReference"
	deinitTimeout      = 10 * time.Second
	callTimeout        = 30 * time.Second
)

// Full method paths.
const (
	methodInit            = "/spire.service.private.init.v1.Init/Init"
	methodDeinit          = "/spire.service.private.init.v1.Init/Deinit"
	methodConfigure       = "/" + configService + "/Configure"
	methodAttest          = "/" + attestorService + "/Attest"
	methodAttestReference = "/" + attestorService + "/AttestReference"
	methodStdio           = "/plugin.GRPCStdio/StreamStdio"
)

// ---------------------------------------------------------------------------------------------------
// Hand-written protobuf encoding for the few messages used here (proto shapes in /proto).

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendBytesField(b []byte, field int, data []byte) []byte {
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(data)))
	return append(b, data...)
}

func appendStringField(b []byte, field int, s string) []byte {
	return appendBytesField(b, field, []byte(s))
}

// appendInt32Field encodes an int32 as protobuf does: negative values sign-extended to 10 bytes.
func appendInt32Field(b []byte, field int, v int32) []byte {
	b = appendVarint(b, uint64(field)<<3)
	return appendVarint(b, uint64(int64(v)))
}

func readVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * uint(i))
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("truncated or overlong varint")
}

// repeatedStrings decodes every occurrence of a string field, skipping other fields, and fails on
// malformed input or invalid UTF-8 (proto3 strings must be UTF-8).
func repeatedStrings(b []byte, want int) ([]string, error) {
	out := []string{}
	for len(b) > 0 {
		key, n, err := readVarint(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		field, wire := int(key>>3), key&7
		switch wire {
		case 0:
			_, n, err = readVarint(b)
			if err != nil {
				return nil, err
			}
		case 1:
			n = 8
		case 5:
			n = 4
		case 2:
			l, m, err := readVarint(b)
			if err != nil {
				return nil, err
			}
			if uint64(len(b)-m) < l {
				return nil, errors.New("truncated length-delimited field")
			}
			if field == want {
				s := string(b[m : m+int(l)])
				if !utf8.ValidString(s) {
					return nil, fmt.Errorf("field %d is not valid UTF-8", field)
				}
				out = append(out, s)
			}
			n = m + int(l)
		default:
			return nil, fmt.Errorf("unsupported wire type %d", wire)
		}
		if n > len(b) {
			return nil, errors.New("truncated field")
		}
		b = b[n:]
	}
	return out, nil
}

func initRequest(hostServices ...string) []byte {
	var b []byte
	for _, s := range hostServices {
		b = appendStringField(b, 1, s)
	}
	return b
}

func configureRequest(trustDomain, hcl string) []byte {
	core := appendStringField(nil, 1, trustDomain)
	b := appendBytesField(nil, 1, core)
	return appendStringField(b, 2, hcl)
}

func attestRequest(pid int32) []byte { return appendInt32Field(nil, 1, pid) }

func attestReferenceRequest(pid int32) []byte {
	ref := appendInt32Field(nil, 1, pid)
	any := appendStringField(nil, 1, pidReferenceType)
	any = appendBytesField(any, 2, ref)
	return appendBytesField(nil, 1, any)
}

// rawCodec passes the hand-encoded bytes through; named "proto" so the wire is exactly protobuf's.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(d []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), d...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

func invoke(conn *grpc.ClientConn, method string, req []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []byte
	err := conn.Invoke(ctx, method, &req, &out, grpc.ForceCodec(rawCodec{}))
	return out, err
}

// ---------------------------------------------------------------------------------------------------
// The go-plugin side: the plugin type SPIRE registers (cookie = plugin type, broker Accept in GRPCClient).

type attestorPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	mu          sync.Mutex
	hostServers []*grpc.Server
}

func (*attestorPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host side only")
}

// GRPCClient does what SPIRE's external.go does: accept the host-service broker connection (id 1) and
// serve host services on it, then hand back the ClientConn.
func (p *attestorPlugin) GRPCClient(_ context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	l, err := b.Accept(hostServiceID)
	if err != nil {
		return nil, fmt.Errorf("broker accept: %w", err)
	}
	s := grpc.NewServer()
	p.mu.Lock()
	p.hostServers = append(p.hostServers, s)
	p.mu.Unlock()
	go func() { _ = s.Serve(l) }()
	return c, nil
}

func (p *attestorPlugin) stopHostServers() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.hostServers {
		s.Stop()
	}
	p.hostServers = nil
}

// lineWriter collects newline-terminated lines written in pieces.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []string
	echo  io.Writer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := string(w.buf.Next(i + 1))
		line = strings.TrimSuffix(line, "\n")
		w.lines = append(w.lines, line)
		if w.echo != nil {
			fmt.Fprintln(w.echo, line)
		}
	}
	return len(p), nil
}

func (w *lineWriter) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// hostLogEntries parses the host logger's JSON lines.
func hostLogEntries(w *lineWriter) []map[string]interface{} {
	var out []map[string]interface{}
	for _, line := range w.snapshot() {
		var m map[string]interface{}
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// checkPluginLogLine applies what go-plugin's log parser needs and what SPIRE forwards faithfully: a JSON
// object with string @message and @level (a known hclog level) and a 6-digit-microsecond @timestamp.
// Anything else is demoted to a raw Debug line by the host (or, for a non-string @message, crashes it).
func checkPluginLogLine(line string) error {
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	msg, ok := m["@message"].(string)
	if !ok || msg == "" {
		return errors.New("@message missing or not a string")
	}
	level, ok := m["@level"].(string)
	if !ok {
		return errors.New("@level missing or not a string")
	}
	switch level {
	case "trace", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("@level %q is not an hclog level", level)
	}
	ts, ok := m["@timestamp"].(string)
	if !ok {
		return errors.New("@timestamp missing or not a string")
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
		return fmt.Errorf("@timestamp %q: %v", ts, err)
	}
	return nil
}

// ---------------------------------------------------------------------------------------------------
// One loaded plugin instance.

type instance struct {
	client   *plugin.Client
	rpc      plugin.ClientProtocol
	cmd      *exec.Cmd
	kind     *attestorPlugin
	conn     *grpc.ClientConn
	hostLog  *lineWriter
	stderr   *lineWriter
	stdioEnd context.CancelFunc
	loadTime time.Duration // spawn + handshake + connect + stdio + Dispense (broker Accept)
}

func newInstance(argv []string, verbose bool) *instance {
	hostLog := &lineWriter{}
	if verbose {
		hostLog.echo = os.Stderr
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// SPIRE's cmd_linux.go: the plugin dies with the agent.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	kind := &attestorPlugin{}
	in := &instance{cmd: cmd, kind: kind, hostLog: hostLog, stderr: &lineWriter{}}
	in.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   cookie,
			MagicCookieValue: cookie,
		},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Plugins:          map[string]plugin.Plugin{pluginName: kind},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "agent", Level: hclog.Trace, Output: hostLog, JSONFormat: true,
		}),
		AutoMTLS: false,
		Stderr:   in.stderr,
	})
	return in
}

// load starts the plugin and dispenses it: go-plugin ≥1.x opens GRPCStdio/StreamStdio right after
// connecting (emulated here, drained to io.Discard as SPIRE does), then SPIRE's Dispense runs Accept(1).
func (in *instance) load() error {
	start := time.Now()
	rpc, err := in.client.Client()
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	in.rpc = rpc
	gc, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		return fmt.Errorf("negotiated protocol is not gRPC (%T)", rpc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.stdioEnd = cancel
	stream, err := gc.Conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, methodStdio, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return fmt.Errorf("open StreamStdio: %w", err)
	}
	empty := []byte{}
	if err := stream.SendMsg(&empty); err != nil && err != io.EOF {
		return fmt.Errorf("StreamStdio send: %w", err)
	}
	_ = stream.CloseSend()
	go func() {
		for {
			var data []byte
			if stream.RecvMsg(&data) != nil {
				return
			}
			_, _ = io.Discard.Write(data)
		}
	}()
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		return fmt.Errorf("dispense: %w", err)
	}
	conn, ok := raw.(*grpc.ClientConn)
	if !ok {
		return fmt.Errorf("dispense returned %T", raw)
	}
	in.conn = conn
	in.loadTime = time.Since(start)
	return nil
}

// initPlugin runs Init announcing the agent's host service and checks the advertised plugin services.
func (in *instance) initPlugin() error {
	out, err := invoke(in.conn, methodInit, initRequest(metricsHostService), callTimeout)
	if err != nil {
		return fmt.Errorf("Init: %v", err)
	}
	names, err := repeatedStrings(out, 1)
	if err != nil {
		return fmt.Errorf("Init response: %v", err)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	want := []string{attestorService, configService}
	if strings.Join(sorted, ",") != strings.Join(want, ",") {
		return fmt.Errorf("Init advertised %q, want exactly %q", names, want)
	}
	return nil
}

// configure sends Configure with the trust domain and HCL text.
func (in *instance) configure(trustDomain, hcl string) error {
	_, err := invoke(in.conn, methodConfigure, configureRequest(trustDomain, hcl), callTimeout)
	return err
}

type exitReport struct {
	took     time.Duration
	code     int
	killed   bool
	exitLog  bool   // go-plugin logged "plugin process exited"
	exitErr  string // its "error" field, if any
	badLines []string
	lines    int
}

// unload does SPIRE's unload: Deinit (10 s deadline) then go-plugin Kill (broker close,
// GRPCController.Shutdown, connection close, 2 s wait, then SIGKILL).
func (in *instance) unload() (exitReport, error) {
	var deinitErr error
	if in.conn != nil {
		_, deinitErr = invoke(in.conn, methodDeinit, nil, deinitTimeout)
	}
	start := time.Now()
	in.client.Kill()
	rep := exitReport{took: time.Since(start), code: -1}
	in.kind.stopHostServers()
	if in.stdioEnd != nil {
		in.stdioEnd()
	}
	if ps := in.cmd.ProcessState; ps != nil {
		rep.code = ps.ExitCode()
	}
	for _, e := range hostLogEntries(in.hostLog) {
		switch e["@message"] {
		case "plugin failed to exit gracefully":
			rep.killed = true
		case "plugin process exited":
			rep.exitLog = true
			if s, ok := e["error"].(string); ok {
				rep.exitErr = s
			}
		}
	}
	for _, line := range in.stderr.snapshot() {
		rep.lines++
		if err := checkPluginLogLine(line); err != nil {
			rep.badLines = append(rep.badLines, fmt.Sprintf("%v: %q", err, truncate(line, 200)))
		}
	}
	if deinitErr != nil {
		return rep, fmt.Errorf("Deinit: %v", deinitErr)
	}
	return rep, nil
}

func (r exitReport) problem() string {
	switch {
	case r.killed:
		return "go-plugin logged \"plugin failed to exit gracefully\" and killed the plugin"
	case !r.exitLog:
		return "go-plugin never logged \"plugin process exited\""
	case r.exitErr != "":
		return "plugin process exited with error: " + r.exitErr
	case r.code != 0:
		return fmt.Sprintf("exit code %d", r.code)
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ---------------------------------------------------------------------------------------------------
// Expectations for Attest.

type expectation struct {
	pid       int32
	spec      string
	empty     bool
	code      codes.Code
	hasCode   bool
	selectors []string // sorted
}

func (e expectation) check(out []byte, err error) error {
	if e.hasCode {
		if err == nil {
			return fmt.Errorf("pid %d: want code %s, got OK", e.pid, e.code)
		}
		if got := status.Code(err); got != e.code {
			return fmt.Errorf("pid %d: want code %s, got %v", e.pid, e.code, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("pid %d: %v", e.pid, err)
	}
	got, derr := repeatedStrings(out, 1)
	if derr != nil {
		return fmt.Errorf("pid %d: bad AttestResponse: %v", e.pid, derr)
	}
	sort.Strings(got)
	want := e.selectors
	if e.empty {
		want = []string{}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
		return fmt.Errorf("pid %d: got %d selectors %q, want %d %q", e.pid, len(got), got, len(want), want)
	}
	return nil
}

var codeNames = map[string]codes.Code{}

func init() {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		codeNames[c.String()] = c
	}
}

// parseExpectation parses PID=empty | PID=code:<Name> | PID=selectors:<file> (one value a line).
func parseExpectation(s string) (expectation, error) {
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		return expectation{}, fmt.Errorf("-attest %q: want PID=EXPECT", s)
	}
	pid, err := strconv.ParseInt(s[:eq], 10, 32)
	if err != nil {
		return expectation{}, fmt.Errorf("-attest %q: bad PID: %v", s, err)
	}
	e := expectation{pid: int32(pid), spec: s}
	rest := s[eq+1:]
	switch {
	case rest == "empty":
		e.empty = true
	case strings.HasPrefix(rest, "code:"):
		c, ok := codeNames[rest[5:]]
		if !ok || c == codes.OK {
			return expectation{}, fmt.Errorf("-attest %q: unknown or OK status code %q", s, rest[5:])
		}
		e.code, e.hasCode = c, true
	case strings.HasPrefix(rest, "selectors:"):
		data, err := ioutil.ReadFile(rest[len("selectors:"):])
		if err != nil {
			return expectation{}, fmt.Errorf("-attest %q: %v", s, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimRight(line, "\r"); line != "" {
				e.selectors = append(e.selectors, line)
			}
		}
		if len(e.selectors) == 0 {
			return expectation{}, fmt.Errorf("-attest %q: the selector file is empty (use PID=empty)", s)
		}
		sort.Strings(e.selectors)
	default:
		return expectation{}, fmt.Errorf("-attest %q: EXPECT must be empty, code:<Name> or selectors:<file>", s)
	}
	return e, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// ---------------------------------------------------------------------------------------------------

type runner struct{ failed int }

func (r *runner) pass(name, detail string) {
	if detail != "" {
		fmt.Printf("PASS %s (%s)\n", name, detail)
	} else {
		fmt.Printf("PASS %s\n", name)
	}
}

func (r *runner) fail(name, detail string) {
	r.failed++
	fmt.Printf("FAIL %s: %s\n", name, strings.ReplaceAll(detail, "\n", " "))
}

func (r *runner) check(name string, err error, detail string) bool {
	if err != nil {
		r.fail(name, err.Error())
		return false
	}
	r.pass(name, detail)
	return true
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)) * p)
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func sortDurations(d []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		os.Exit(benchMain(os.Args[2:])) // bench.go: timings against the floor plugin, no checks
	}
	fs := flag.NewFlagSet("gohost", flag.ContinueOnError)
	hclFile := fs.String("hcl-file", "", "file with the plugin's HCL configuration (default: $GOHOST_HCL)")
	trustDomain := fs.String("trust-domain", "example.org", "trust domain sent in Configure")
	concurrent := fs.Int("concurrent", 100, "number of concurrent Attest calls")
	latencyCalls := fs.Int("latency-calls", 200, "sequential Attest calls for the p50/p99 report (0: skip)")
	cycles := fs.Int("cycles", 20, "load/unload cycles")
	verbose := fs.Bool("v", false, "echo the host's go-plugin log (JSON) to stderr")
	var attests, badHCL multiFlag
	fs.Var(&attests, "attest", "PID=empty | PID=code:<Name> | PID=selectors:<file> (repeatable, at least one)")
	fs.Var(&badHCL, "bad-hcl", "an invalid HCL configuration Configure must reject with InvalidArgument (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: gohost [flags] -- <plugin command> [args...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	argv := fs.Args()
	if len(argv) == 0 || len(attests) == 0 {
		fs.Usage()
		os.Exit(2)
	}
	if !filepath.IsAbs(argv[0]) {
		if p, err := exec.LookPath(argv[0]); err == nil {
			argv[0] = p
		}
	}
	hcl := os.Getenv("GOHOST_HCL")
	if *hclFile != "" {
		data, err := ioutil.ReadFile(*hclFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gohost:", err)
			os.Exit(2)
		}
		hcl = string(data)
	}
	var exps []expectation
	for _, a := range attests {
		e, err := parseExpectation(a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gohost:", err)
			os.Exit(2)
		}
		exps = append(exps, e)
	}
	if len(badHCL) == 0 {
		badHCL = multiFlag{"kubelet_read_only_port = {{{ not hcl", "no_such_key = true\n"}
	}
	r := &runner{}
	r.session(argv, hcl, *trustDomain, exps, badHCL, *concurrent, *latencyCalls, *verbose)
	r.cycles(argv, hcl, *trustDomain, exps[0], *cycles, *verbose)
	if r.failed > 0 {
		fmt.Printf("RESULT %d check(s) failed\n", r.failed)
		os.Exit(1)
	}
	fmt.Println("RESULT all checks passed")
}

// session runs the full check list on one plugin instance.
func (r *runner) session(argv []string, hcl, td string, exps []expectation, badHCL []string,
	concurrent, latencyCalls int, verbose bool) {
	in := newInstance(argv, verbose)
	defer in.client.Kill()
	if !r.check("load", in.load(), "handshake, StreamStdio, Dispense with broker Accept(1) in "+ms(in.loadTime)) {
		rep, _ := in.unload()
		r.reportStderr(rep)
		return
	}
	r.check("ping", in.rpc.Ping(), "grpc.health.v1 Check service=plugin")
	r.check("init", in.initPlugin(), "plugin_service_names = exactly WorkloadAttestor, Config")
	err := in.configure(td, hcl)
	if !r.check("configure", err, "trust_domain "+td) {
		in.unload()
		return
	}

	for _, e := range exps {
		out, err := invoke(in.conn, methodAttest, attestRequest(e.pid), callTimeout)
		r.check("attest "+e.spec, e.check(out, err), "")
	}

	// AttestReference with a PID reference (spire-agent ≥1.15.2): UNIMPLEMENTED (the agent falls back to
	// Attest) or the same answer as Attest.
	{
		e := exps[0]
		out, err := invoke(in.conn, methodAttestReference, attestReferenceRequest(e.pid), callTimeout)
		if status.Code(err) == codes.Unimplemented {
			r.pass("attest-reference", "Unimplemented: the agent falls back to Attest")
		} else {
			r.check("attest-reference", e.check(out, err), "same result as Attest")
		}
	}

	// Concurrent Attest calls on the one connection, round-robin over the expectations.
	{
		var wg sync.WaitGroup
		errs := make([]error, concurrent)
		start := time.Now()
		for i := 0; i < concurrent; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				e := exps[i%len(exps)]
				out, err := invoke(in.conn, methodAttest, attestRequest(e.pid), callTimeout)
				errs[i] = e.check(out, err)
			}(i)
		}
		wg.Wait()
		took := time.Since(start)
		bad := 0
		var first error
		for _, err := range errs {
			if err != nil {
				bad++
				if first == nil {
					first = err
				}
			}
		}
		name := fmt.Sprintf("concurrent-attest x%d", concurrent)
		if bad > 0 {
			r.fail(name, fmt.Sprintf("%d of %d wrong; first: %v", bad, concurrent, first))
		} else {
			r.pass(name, "all as expected")
			fmt.Printf("INFO %d concurrent Attest calls on one connection: %s\n", concurrent, ms(took))
		}
	}

	if latencyCalls > 0 {
		e := exps[0]
		samples := make([]time.Duration, 0, latencyCalls)
		var first error
		for i := 0; i < latencyCalls; i++ {
			t := time.Now()
			out, err := invoke(in.conn, methodAttest, attestRequest(e.pid), callTimeout)
			samples = append(samples, time.Since(t))
			if err := e.check(out, err); err != nil && first == nil {
				first = err
			}
		}
		s := sortDurations(samples)
		name := fmt.Sprintf("sequential-attest x%d", latencyCalls)
		if r.check(name, first, "") {
			fmt.Printf("INFO attest latency (grpc-go client, pid %d): p50 %s p99 %s max %s over %d calls\n",
				e.pid, ms(percentile(s, 0.5)), ms(percentile(s, 0.99)), ms(s[len(s)-1]), latencyCalls)
		}
	}

	// Unknown methods: grpc-go only believes grpc-status on a Trailers-Only response with content-type.
	for _, m := range []string{"/" + attestorService + "/NoSuchMethod", "/no.such.v1.Service/Method"} {
		_, err := invoke(in.conn, m, nil, callTimeout)
		if status.Code(err) == codes.Unimplemented {
			r.pass("unknown-method "+m, "Unimplemented")
		} else {
			r.fail("unknown-method "+m, fmt.Sprintf("want Unimplemented, got %v", err))
		}
	}

	// Bad reconfiguration: InvalidArgument, and the previous configuration stays in force.
	for i, bad := range badHCL {
		_, err := invoke(in.conn, methodConfigure, configureRequest(td, bad), callTimeout)
		name := fmt.Sprintf("bad-configure #%d", i+1)
		if status.Code(err) == codes.InvalidArgument {
			r.pass(name, "InvalidArgument: "+truncate(status.Convert(err).Message(), 120))
		} else {
			r.fail(name, fmt.Sprintf("want InvalidArgument for %q, got %v", bad, err))
		}
	}
	{
		e := exps[0]
		out, err := invoke(in.conn, methodAttest, attestRequest(e.pid), callTimeout)
		r.check("config-kept-after-bad-configure", e.check(out, err), "")
	}
	r.check("reconfigure", in.configure(td, hcl), "same configuration again, as on SIGUSR1")

	rep, err := in.unload()
	r.check("deinit", err, "")
	if p := rep.problem(); p != "" {
		r.fail("exit", p)
	} else {
		r.pass("exit", "Kill took "+ms(rep.took)+", exit code 0, not killed")
	}
	r.reportStderr(rep)
}

func (r *runner) reportStderr(rep exitReport) {
	if len(rep.badLines) > 0 {
		r.fail("stderr-log-format", fmt.Sprintf("%d of %d lines: %s", len(rep.badLines), rep.lines,
			strings.Join(rep.badLines, "; ")))
	} else {
		r.pass("stderr-log-format", fmt.Sprintf("%d plugin stderr lines, all hclog JSON", rep.lines))
	}
}

// cycles loads and unloads the plugin n times, as an agent restart loop would, with zero failures allowed.
func (r *runner) cycles(argv []string, hcl, td string, e expectation, n int, verbose bool) {
	if n <= 0 {
		return
	}
	var loads, totals, kills []time.Duration
	var failures []string
	for i := 0; i < n; i++ {
		start := time.Now()
		in := newInstance(argv, verbose)
		err := in.load()
		if err == nil {
			err = in.initPlugin()
		}
		if err == nil {
			err = in.configure(td, hcl)
		}
		if err == nil {
			out, aerr := invoke(in.conn, methodAttest, attestRequest(e.pid), callTimeout)
			err = e.check(out, aerr)
		}
		rep, uerr := in.unload()
		if err == nil {
			err = uerr
		}
		if err == nil && rep.problem() != "" {
			err = errors.New(rep.problem())
		}
		if err == nil && len(rep.badLines) > 0 {
			err = fmt.Errorf("bad stderr line: %s", rep.badLines[0])
		}
		if err != nil {
			failures = append(failures, fmt.Sprintf("cycle %d: %v", i+1, err))
			continue
		}
		loads = append(loads, in.loadTime)
		kills = append(kills, rep.took)
		totals = append(totals, time.Since(start))
	}
	name := fmt.Sprintf("load-unload-cycles x%d", n)
	if len(failures) > 0 {
		r.fail(name, fmt.Sprintf("%d of %d failed: %s", len(failures), n, strings.Join(failures, "; ")))
		return
	}
	l, k, t := sortDurations(loads), sortDurations(kills), sortDurations(totals)
	r.pass(name, "0 failures")
	fmt.Printf("INFO per cycle: handshake+load p50 %s max %s; Kill p50 %s max %s; whole cycle p50 %s max %s\n",
		ms(percentile(l, 0.5)), ms(l[len(l)-1]), ms(percentile(k, 0.5)), ms(k[len(k)-1]),
		ms(percentile(t, 0.5)), ms(t[len(t)-1]))
}
