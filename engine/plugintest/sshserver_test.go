package plugintest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sshServer is a small SSH server on 127.0.0.1 for the command plugin's tests: it runs each exec
// request with /bin/sh -c (with the variables the client set through env requests), serves the
// sftp subsystem, and records what it ran, so a test can tell which server ran a command.
type sshServer struct {
	addr    string
	port    int
	hostKey ssh.Signer
	// Connections to drop before the handshake, as a host whose sshd is not up yet.
	dropFirst int

	mu       sync.Mutex
	ran      []string
	accepted int
	dropped  int
}

const sshUser, sshPassword = "deploy", "a-password-the-tests-never-print"

// newKey returns an ED25519 signer and its private key in OpenSSH's PEM format.
func newKey(t *testing.T) (ssh.Signer, string) {
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(private, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

func authorizedKey(key ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}

// startSSH serves on 127.0.0.1:0 and accepts sshUser with clientKey or sshPassword.
func startSSH(t *testing.T, clientKey ssh.PublicKey, dropFirst int) *sshServer {
	hostKey, _ := newKey(t)
	s := &sshServer{hostKey: hostKey, dropFirst: dropFirst}
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == sshUser && clientKey != nil && string(key.Marshal()) == string(clientKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
		PasswordCallback: func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
			if meta.User() == sshUser && string(password) == sshPassword {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
	}
	config.AddHostKey(hostKey)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listener.Close() })
	s.addr = listener.Addr().String()
	s.port = listener.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			drop := s.dropped < s.dropFirst
			if drop {
				s.dropped++
			} else {
				s.accepted++
			}
			s.mu.Unlock()
			if drop {
				_ = conn.Close()
				continue
			}
			go s.serve(conn, config)
		}
	}()
	return s
}

func (s *sshServer) serve(conn net.Conn, config *ssh.ServerConfig) {
	server, channels, requests, err := ssh.NewServerConn(conn, config)
	if err != nil {
		_ = conn.Close()
		return
	}
	defer func() { _ = server.Close() }()
	go ssh.DiscardRequests(requests)
	for request := range channels {
		if request.ChannelType() != "session" {
			_ = request.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		channel, requests, err := request.Accept()
		if err != nil {
			return
		}
		go s.session(channel, requests)
	}
}

func (s *sshServer) session(channel ssh.Channel, requests <-chan *ssh.Request) {
	defer func() { _ = channel.Close() }()
	env := os.Environ()
	for request := range requests {
		switch request.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(request.Payload, &kv) != nil {
				_ = request.Reply(false, nil)
				continue
			}
			env = append(env, kv.Name+"="+kv.Value)
			_ = request.Reply(true, nil)
		case "exec":
			var command struct{ Command string }
			if ssh.Unmarshal(request.Payload, &command) != nil {
				_ = request.Reply(false, nil)
				continue
			}
			_ = request.Reply(true, nil)
			s.mu.Lock()
			s.ran = append(s.ran, command.Command)
			s.mu.Unlock()
			cmd := exec.Command("/bin/sh", "-c", command.Command)
			cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, channel, channel, channel.Stderr()
			status := uint32(0)
			if err := cmd.Run(); err != nil {
				status = 1
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					status = uint32(exit.ExitCode())
				}
			}
			payload := make([]byte, 4)
			binary.BigEndian.PutUint32(payload, status)
			_, _ = channel.SendRequest("exit-status", false, payload)
			return
		case "subsystem":
			var subsystem struct{ Name string }
			if ssh.Unmarshal(request.Payload, &subsystem) != nil || subsystem.Name != "sftp" {
				_ = request.Reply(false, nil)
				continue
			}
			_ = request.Reply(true, nil)
			server, err := sftp.NewServer(channel)
			if err != nil {
				return
			}
			if err := server.Serve(); err != nil && !errors.Is(err, io.EOF) {
				return
			}
			return
		default:
			_ = request.Reply(false, nil)
		}
	}
}

func (s *sshServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ran...)
}

func (s *sshServer) counts() (dropped, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped, s.accepted
}
