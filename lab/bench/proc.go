package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/fedrs/fedrs/lab"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// Usage is the resources of a set of processes.
type Usage struct {
	// CPU is user + system time in seconds, summed.
	CPU float64
	// PeakRSS is VmHWM in octets, summed.
	PeakRSS int64
	// Processes counted.
	Processes int
}

// nsUsage sums utime+stime and VmHWM of every process in namespace ns
// (multi-process daemons such as OpenBGPD count whole).
func nsUsage(ns string) (Usage, error) {
	pids, err := lab.PIDsInNamespaces([]string{ns})
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	for pid := range pids {
		cpu, err1 := procCPU(pid)
		hwm, err2 := procHWM(pid)
		if err1 != nil || err2 != nil {
			continue // exited meanwhile
		}
		u.CPU += cpu
		u.PeakRSS += hwm
		u.Processes++
	}
	return u, nil
}

// procCPU reads utime+stime of a process, in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return float64(ut+st) / clockTicks, nil
}

// procHWM reads VmHWM (peak resident set) of a process, in octets.
func procHWM(pid int) (int64, error) {
	return statusField(pid, "VmHWM:")
}

func statusField(pid int, key string) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			fs := strings.Fields(v)
			if len(fs) == 0 {
				break
			}
			kb, err := strconv.ParseInt(fs[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, key)
}

// Host describes the machine a run measured on.
type Host struct {
	CPUs     int        `json:"cpus"`
	CPUModel string     `json:"cpu_model"`
	MemBytes int64      `json:"mem_bytes"`
	Kernel   string     `json:"kernel"`
	Hostname string     `json:"hostname"`
	Load     [3]float64 `json:"load_average"`
}

func hostInfo() Host {
	h := Host{CPUs: runtime.NumCPU(), Load: loadAvg()}
	h.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPUModel = strings.Join(strings.Fields(v), " ")
				break
			}
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				if fs := strings.Fields(v); len(fs) > 0 {
					kb, _ := strconv.ParseInt(fs[0], 10, 64)
					h.MemBytes = kb << 10
				}
			}
		}
		f.Close()
	}
	return h
}

// loadAvg reads the 1, 5 and 15 minute load averages.
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

// selfCPU is this process's CPU time so far (the load generator's share).
func selfCPU() float64 {
	v, _ := procCPU(os.Getpid())
	return v
}
