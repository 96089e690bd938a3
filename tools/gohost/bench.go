package main

// The bench mode (`gohost bench`): loads the plugin and a floor plugin (tools/gofloor, which answers every
// Attest with the plugin's own selectors) through the same go-plugin client, interleaves timed rounds of
// Attest on both and of Health/Check on the plugin, then optionally drives Attest at a fixed rate while
// sampling the plugin's resident memory. Prints one JSON document on stdout (see benchReport); errors go to
// stderr with exit 1. Used by `deno task bench:table` (bench/lib/gohost.ts); nothing here is a test.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

const methodHealthCheck = "/grpc.health.v1.Health/Check"

type benchRound struct {
	Concurrency  int     `json:"concurrency"`
	OursP50Us    float64 `json:"ours_p50_us"`
	OursP99Us    float64 `json:"ours_p99_us"`
	FloorP50Us   float64 `json:"floor_p50_us"`
	FloorP99Us   float64 `json:"floor_p99_us"`
	HealthP50Us  float64 `json:"health_p50_us"`
	HealthP99Us  float64 `json:"health_p99_us"`
	OursPerSec   float64 `json:"ours_calls_per_s"`
	FloorPerSec  float64 `json:"floor_calls_per_s"`
	HealthPerSec float64 `json:"health_calls_per_s"`
	Calls        int     `json:"calls"`
}

type rssSample struct {
	TS     float64 `json:"t_s"`
	RssKiB int64   `json:"rss_kib"`
}

type rateReport struct {
	TargetPerSec   int         `json:"target_per_s"`
	Calls          int         `json:"calls"`
	Errors         int64       `json:"errors"`
	Skipped        int64       `json:"skipped"`
	ElapsedS       float64     `json:"elapsed_s"`
	AchievedPerSec float64     `json:"achieved_per_s"`
	P50Us          float64     `json:"p50_us"`
	P99Us          float64     `json:"p99_us"`
	RssBeforeKiB   int64       `json:"rss_before_kib"`
	Samples        []rssSample `json:"rss_samples"`
	RssAfterKiB    int64       `json:"rss_after_kib"`
	HwmKiB         int64       `json:"hwm_kib"`
}

type benchReport struct {
	Selectors     int          `json:"selectors"`
	OursLoadMs    float64      `json:"ours_load_ms"`
	FloorLoadMs   float64      `json:"floor_load_ms"`
	OursIdleKiB   int64        `json:"ours_rss_idle_kib"`
	FloorIdleKiB  int64        `json:"floor_rss_idle_kib"`
	Rounds        []benchRound `json:"rounds"`
	Rate          *rateReport  `json:"rate,omitempty"`
	OursPID       int          `json:"ours_pid"`
	AttestErrors  int64        `json:"attest_errors"`
	GoHostVersion string       `json:"gohost"`
}

var statusField = regexp.MustCompile(`(?m)^(VmRSS|VmHWM):\s+(\d+) kB$`)

// procMemory reads VmRSS and VmHWM (KiB) of a process.
func procMemory(pid int) (rss, hwm int64, err error) {
	data, err := ioutil.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, m := range statusField.FindAllStringSubmatch(string(data), -1) {
		v, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == "VmRSS" {
			rss = v
		} else {
			hwm = v
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS for pid %d", pid)
	}
	return rss, hwm, nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// timedCalls makes `calls` calls split over `conc` goroutines (each one call after the other) and returns
// every call's latency, the wall time and the number of failed calls.
func timedCalls(conn *grpc.ClientConn, method string, reqs [][]byte, calls, conc int) ([]time.Duration, time.Duration, int64) {
	samples := make([]time.Duration, calls)
	var errs int64
	var next int64 = -1
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(calls) {
					return
				}
				t := time.Now()
				_, err := invoke(conn, method, reqs[int(i)%len(reqs)], callTimeout)
				samples[i] = time.Since(t)
				if err != nil {
					atomic.AddInt64(&errs, 1)
				}
			}
		}()
	}
	wg.Wait()
	return sortDurations(samples), time.Since(start), errs
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad positive integer %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func benchMain(args []string) int {
	fs := flag.NewFlagSet("gohost bench", flag.ContinueOnError)
	hclFile := fs.String("hcl-file", "", "file with the plugin's HCL configuration")
	trustDomain := fs.String("trust-domain", "example.org", "trust domain sent in Configure")
	floorPath := fs.String("floor", "", "the floor plugin binary (tools/gofloor)")
	pidList := fs.String("pids", "", "comma-separated workload PIDs, attested round-robin (each must get selectors)")
	rounds := fs.Int("rounds", 5, "timed rounds (each: plugin, floor and Health/Check, at every concurrency)")
	calls := fs.Int("calls", 2000, "calls per round, plugin and concurrency")
	concList := fs.String("concurrency", "1,16", "comma-separated concurrencies")
	warmup := fs.Int("warmup", 500, "untimed calls on each plugin before the rounds")
	settle := fs.Duration("settle", 3*time.Second, "wait before reading the idle RSS")
	rate := fs.Int("rate", 1000, "Attest calls per second in the rate phase")
	rateCalls := fs.Int("rate-calls", 0, "calls in the rate phase (0: no rate phase)")
	rssEvery := fs.Duration("rss-every", time.Second, "RSS sampling period in the rate phase")
	verbose := fs.Bool("v", false, "echo the host's go-plugin log to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	argv := fs.Args()
	concs, err := parseInts(*concList)
	pids, perr := parseInts(*pidList)
	if len(argv) == 0 || *floorPath == "" || *hclFile == "" || err != nil || perr != nil {
		fmt.Fprintln(os.Stderr, "usage: gohost bench -hcl-file F -floor GOFLOOR -pids P[,P...] [flags] -- <plugin command> [args...]")
		fs.PrintDefaults()
		return 2
	}
	hcl, err := ioutil.ReadFile(*hclFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gohost bench:", err)
		return 2
	}
	report, err := runBench(argv, string(hcl), *trustDomain, *floorPath, pids, *rounds, *calls, concs, *warmup,
		*settle, *rate, *rateCalls, *rssEvery, *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gohost bench:", err)
		return 1
	}
	out, _ := json.Marshal(report)
	fmt.Println(string(out))
	return 0
}

func startInstance(argv []string, td, hcl string, verbose bool) (*instance, error) {
	in := newInstance(argv, verbose)
	if err := in.load(); err != nil {
		in.client.Kill()
		return nil, fmt.Errorf("load %s: %v (stderr: %s)", argv[0], err, strings.Join(in.stderr.snapshot(), " | "))
	}
	if err := in.initPlugin(); err != nil {
		in.client.Kill()
		return nil, err
	}
	if err := in.configure(td, hcl); err != nil {
		in.client.Kill()
		return nil, err
	}
	return in, nil
}

func runBench(argv []string, hcl, td, floorPath string, pids []int, rounds, calls int, concs []int, warmup int,
	settle time.Duration, rate, rateCalls int, rssEvery time.Duration, verbose bool) (*benchReport, error) {
	rep := &benchReport{GoHostVersion: "go-plugin 1.0.1 / grpc-go 1.33 (Debian)"}
	ours, err := startInstance(argv, td, hcl, verbose)
	if err != nil {
		return nil, err
	}
	defer ours.client.Kill()
	rep.OursLoadMs = float64(ours.loadTime.Microseconds()) / 1000
	rep.OursPID = ours.cmd.Process.Pid

	// The plugin's answer for each PID: non-empty, and the floor answers with the first one.
	reqs := make([][]byte, len(pids))
	var first []string
	for i, pid := range pids {
		reqs[i] = attestRequest(int32(pid))
		out, err := invoke(ours.conn, methodAttest, reqs[i], callTimeout)
		if err != nil {
			return nil, fmt.Errorf("Attest pid %d: %v", pid, err)
		}
		sel, err := repeatedStrings(out, 1)
		if err != nil || len(sel) == 0 {
			return nil, fmt.Errorf("Attest pid %d: no selectors (%v)", pid, err)
		}
		if i == 0 {
			first = sel
		}
	}
	rep.Selectors = len(first)
	dir, err := ioutil.TempDir("", "gohost-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	selFile := filepath.Join(dir, "selectors.txt")
	if err := ioutil.WriteFile(selFile, []byte(strings.Join(first, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	floor, err := startInstance([]string{floorPath, selFile}, td, hcl, verbose)
	if err != nil {
		return nil, err
	}
	defer floor.client.Kill()
	rep.FloorLoadMs = float64(floor.loadTime.Microseconds()) / 1000
	out, err := invoke(floor.conn, methodAttest, reqs[0], callTimeout)
	if sel, derr := repeatedStrings(out, 1); err != nil || derr != nil || len(sel) != len(first) {
		return nil, fmt.Errorf("floor Attest: %v %v (%d selectors, want %d)", err, derr, len(sel), len(first))
	}

	time.Sleep(settle)
	if rep.OursIdleKiB, _, err = procMemory(ours.cmd.Process.Pid); err != nil {
		return nil, err
	}
	if rep.FloorIdleKiB, _, err = procMemory(floor.cmd.Process.Pid); err != nil {
		return nil, err
	}

	health := [][]byte{appendStringField(nil, 1, "plugin")}
	type subject struct {
		conn   *grpc.ClientConn
		method string
		reqs   [][]byte
	}
	subjects := []subject{
		{ours.conn, methodAttest, reqs},
		{floor.conn, methodAttest, reqs},
		{ours.conn, methodHealthCheck, health},
	}
	for _, s := range subjects {
		if _, _, errs := timedCalls(s.conn, s.method, s.reqs, warmup, 1); errs > 0 {
			return nil, fmt.Errorf("%d failed calls of %s in the warm-up", errs, s.method)
		}
	}
	for r := 0; r < rounds; r++ {
		for _, conc := range concs {
			round := benchRound{Concurrency: conc, Calls: calls}
			// Rotate the order every round, so that drift in the machine's load hits all three alike.
			for k := 0; k < len(subjects); k++ {
				idx := (k + r) % len(subjects)
				s := subjects[idx]
				samples, took, errs := timedCalls(s.conn, s.method, s.reqs, calls, conc)
				if errs > 0 && idx != 2 {
					rep.AttestErrors += errs
				}
				p50, p99 := us(percentile(samples, 0.5)), us(percentile(samples, 0.99))
				perSec := float64(calls) / took.Seconds()
				switch idx {
				case 0:
					round.OursP50Us, round.OursP99Us, round.OursPerSec = p50, p99, perSec
				case 1:
					round.FloorP50Us, round.FloorP99Us, round.FloorPerSec = p50, p99, perSec
				case 2:
					round.HealthP50Us, round.HealthP99Us, round.HealthPerSec = p50, p99, perSec
				}
			}
			rep.Rounds = append(rep.Rounds, round)
		}
	}
	if rateCalls > 0 {
		rr, err := rateLoad(ours, reqs, rate, rateCalls, rssEvery)
		if err != nil {
			return nil, err
		}
		rep.Rate = rr
	}
	return rep, nil
}

// rateLoad issues Attest calls at a fixed rate (open loop, at most 512 in flight; a call that would exceed
// that is counted as skipped) while sampling the plugin's RSS.
func rateLoad(in *instance, reqs [][]byte, rate, n int, every time.Duration) (*rateReport, error) {
	pid := in.cmd.Process.Pid
	rr := &rateReport{TargetPerSec: rate, Calls: n, Samples: []rssSample{}}
	var err error
	if rr.RssBeforeKiB, _, err = procMemory(pid); err != nil {
		return nil, err
	}
	start := time.Now()
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if rss, _, err := procMemory(pid); err == nil {
					rr.Samples = append(rr.Samples, rssSample{TS: time.Since(start).Seconds(), RssKiB: rss})
				}
			}
		}
	}()
	samples := make([]time.Duration, 0, n)
	var mu sync.Mutex
	sem := make(chan struct{}, 512)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case sem <- struct{}{}:
		default:
			atomic.AddInt64(&rr.Skipped, 1)
			continue
		}
		wg.Add(1)
		go func(req []byte) {
			defer wg.Done()
			t := time.Now()
			_, err := invoke(in.conn, methodAttest, req, callTimeout)
			d := time.Since(t)
			<-sem
			if err != nil {
				atomic.AddInt64(&rr.Errors, 1)
			}
			mu.Lock()
			samples = append(samples, d)
			mu.Unlock()
		}(reqs[i%len(reqs)])
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	rr.ElapsedS = elapsed.Seconds()
	rr.AchievedPerSec = float64(len(samples)) / elapsed.Seconds()
	s := sortDurations(samples)
	if len(s) == 0 {
		return nil, errors.New("rate phase made no calls")
	}
	rr.P50Us, rr.P99Us = us(percentile(s, 0.5)), us(percentile(s, 0.99))
	if rr.RssAfterKiB, rr.HwmKiB, err = procMemory(pid); err != nil {
		return nil, err
	}
	sort.SliceStable(rr.Samples, func(i, j int) bool { return rr.Samples[i].TS < rr.Samples[j].TS })
	return rr, nil
}
