package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// run is one command to run, and what it printed.
type run struct {
	urn     resource.URN
	command string
	secret  bool // the command text is a secret: errors do not quote it
	stdin   string
	env     map[string]string
	logging string
	log     func(string)
	warn    func(string)

	stdout, stderr string
}

// streams returns the writers for the command's stdout and stderr, which keep each stream, both
// interleaved (for errors) and send the lines `logging` asks for to the log; done flushes them.
func (r *run) streams() (stdout, stderr io.Writer, done func() (combined string)) {
	var out, errOut bytes.Buffer
	combined := &lockedBuffer{}
	reader, writer := io.Pipe()
	logged := &lockedWriter{w: writer}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		scanner := bufio.NewScanner(reader)
		scanner.Buffer(make([]byte, 64*1024), 1024*1024)
		for scanner.Scan() {
			r.log(scanner.Text())
		}
		_, _ = io.Copy(io.Discard, reader)
	}()
	stdout, stderr = io.MultiWriter(&out, combined), io.MultiWriter(&errOut, combined)
	if r.logging == "stdout" || r.logging == "stdoutAndStderr" {
		stdout = io.MultiWriter(stdout, logged)
	}
	if r.logging == "stderr" || r.logging == "stdoutAndStderr" {
		stderr = io.MultiWriter(stderr, logged)
	}
	return stdout, stderr, func() string {
		_ = writer.Close()
		<-finished
		r.stdout, r.stderr = out.String(), errOut.String()
		return combined.String()
	}
}

// failure names the command (unless it is a secret) and shows what it printed.
func (r *run) failure(err error, combined string) error {
	what := fmt.Sprintf("running %q", r.command)
	if r.secret {
		what = "running the command (a secret, not shown)"
	}
	return fmt.Errorf("%w: %s:\n%s", err, what, combined)
}

func (p *commandProvider) runLocal(r *run, state resource.PropertyMap) error {
	args := []string{"/bin/sh", "-c"}
	if v := unsecret(state["interpreter"]); v.IsArray() && len(v.ArrayValue()) > 0 {
		args = nil
		for _, arg := range v.ArrayValue() {
			args = append(args, stringOf(arg))
		}
	}
	cmd := exec.CommandContext(p.ctx, args[0], append(args[1:], r.command)...)
	cmd.Dir = stringOf(state["dir"])
	cmd.Env = os.Environ()
	for _, key := range sortedKeys(r.env) {
		cmd.Env = append(cmd.Env, key+"="+r.env[key])
	}
	if r.stdin != "" {
		cmd.Stdin = strings.NewReader(r.stdin)
	}
	stdout, stderr, done := r.streams()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	combined := done()
	if err != nil {
		return r.failure(err, combined)
	}
	return nil
}

func (p *commandProvider) runRemote(r *run, conn *connection) error {
	client, err := conn.dial(p.ctx)
	if err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	session, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("opening a session on %s: %w", conn.address(), err)
	}
	defer func() { _ = session.Close() }()
	for _, key := range sortedKeys(r.env) {
		// sshd sets only the variables its AcceptEnv names; upstream goes on without the others.
		if err := session.Setenv(key, r.env[key]); err != nil {
			r.warn(fmt.Sprintf("%s refused the environment variable %s (sshd's AcceptEnv must name it)", conn.address(), key))
		}
	}
	if r.stdin != "" {
		session.Stdin = strings.NewReader(r.stdin)
	}
	stdout, stderr, done := r.streams()
	session.Stdout, session.Stderr = stdout, stderr
	err = session.Run(r.command)
	combined := done()
	if err != nil {
		return r.failure(fmt.Errorf("on %s@%s: %w", conn.user, conn.address(), err), combined)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lockedWriter lets stdout and stderr write to one pipe from two goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
