// The sandbox's `talosctl` executable when Go is available: a forwarder that hands its
// command line to the TalosSimulator's `/exec` route, where the stand-in
// (sandbox/talos/standin) runs inside the sandbox process, and then prints what it answered
// and exits with its code. Why: the node-bundle stand-in cost ~60 ms of CPU per call in
// Node start-up, which dominated a health benchmark of hundreds of calls; this costs a few ms.
//
// Standard library only, no go.mod: `go build -o OUT main.go` (scripts/build-talosctl-forwarder.js
// does it at `npm install`). The simulator is found through $AUTOK8S_TALOS_SIM, as the node
// stand-in finds it; the caller's argv, working directory, $TALOSCONFIG and $HOME go along.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall"
)

const simEnv = "AUTOK8S_TALOS_SIM"

type execRequest struct {
	Argv []string          `json:"argv"`
	Cwd  string            `json:"cwd"`
	Env  map[string]string `json:"env"`
}

type execAnswer struct {
	ExitCode int    `json:"exitCode"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	url := os.Getenv(simEnv)
	if url == "" {
		fail("talosctl (sandbox stand-in): %s is not set; run the talosctl that TalosSimulator.writeStandIn wrote", simEnv)
	}
	cwd, err := os.Getwd()
	if err != nil {
		fail("talosctl (sandbox stand-in): %v", err)
	}
	env := map[string]string{}
	for _, name := range []string{"TALOSCONFIG", "HOME"} {
		if value, ok := os.LookupEnv(name); ok {
			env[name] = value
		}
	}
	body, err := json.Marshal(execRequest{Argv: append([]string{}, os.Args[1:]...), Cwd: cwd, Env: env})
	if err != nil {
		fail("talosctl (sandbox stand-in): %v", err)
	}
	// No timeout: like talosctl, the forwarder runs until the command ends or its caller kills it.
	// No proxy: the simulator is on loopback whatever $HTTP_PROXY says.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	res, err := client.Post(url+"/exec", "application/json", bytes.NewReader(body))
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			fail("talosctl (sandbox stand-in): the Talos simulator at %s is not running", url)
		}
		fail("talosctl (sandbox stand-in): the Talos simulator at %s did not answer: %v", url, err)
	}
	text, err := io.ReadAll(res.Body)
	if err != nil {
		fail("talosctl (sandbox stand-in): the Talos simulator at %s did not answer: %v", url, err)
	}
	if res.StatusCode != http.StatusOK {
		fail("talosctl (sandbox stand-in): simulator answered %d: %s", res.StatusCode, text)
	}
	var answer execAnswer
	if err := json.Unmarshal(text, &answer); err != nil {
		fail("talosctl (sandbox stand-in): unreadable answer from the Talos simulator: %v", err)
	}
	os.Stdout.WriteString(answer.Stdout)
	os.Stderr.WriteString(answer.Stderr)
	os.Exit(answer.ExitCode)
}
