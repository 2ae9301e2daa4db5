package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/retry"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Upstream's defaults (schema.json of pulumi-command 1.2.1), for a connection and its proxy alike.
var connectionDefaults = resource.PropertyMap{
	"port":           resource.NewProperty(22.0),
	"user":           resource.NewProperty("root"),
	"dialErrorLimit": resource.NewProperty(10.0),
	"perDialTimeout": resource.NewProperty(15.0),
}

// checkConnection applies the defaults to news["connection"] (and its proxy), keeping secretness,
// and reports what is missing.
func checkConnection(news resource.PropertyMap, fail func(string, string)) {
	v, ok := news["connection"]
	if !ok || v.IsNull() {
		fail("connection", "connection is required: at least {host}")
		return
	}
	// A secret in the inputs too, as upstream marks it: a program that did not wrap it still gets it.
	if v = withDefaults(v, "connection", fail); !v.IsSecret() {
		v = resource.MakeSecret(v)
	}
	news["connection"] = v
}

func withDefaults(v resource.PropertyValue, path string, fail func(string, string)) resource.PropertyValue {
	if v.IsSecret() {
		return resource.MakeSecret(withDefaults(v.SecretValue().Element, path, fail))
	}
	if v.IsComputed() || v.IsOutput() {
		return v
	}
	if !v.IsObject() {
		fail(path, path+" must be an object")
		return v
	}
	object := v.ObjectValue().Copy()
	for key, value := range connectionDefaults {
		if !isSet(object, key) {
			object[key] = value
		}
	}
	if !isSet(object, "host") {
		fail(path+".host", path+".host is required: the address of the host to connect to")
	}
	if key, ok := object["hostKey"]; ok && unsecret(key).IsString() {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(unsecret(key).StringValue())); err != nil {
			fail(path+".hostKey", path+".hostKey must be a public key in OpenSSH's one-line format (\"ssh-ed25519 AAAA...\"): "+err.Error())
		}
	}
	if proxy, ok := object["proxy"]; ok && !proxy.IsNull() {
		object["proxy"] = withDefaults(proxy, path+".proxy", fail)
	}
	return resource.NewProperty(object)
}

// connection is a checked connection (or proxy) from a resource's state.
type connection struct {
	host, user, password, privateKey, privateKeyPassword, agentSocketPath, hostKey string
	port, dialErrorLimit, perDialTimeout                                           int
	proxy                                                                          *connection
}

func connectionOf(v resource.PropertyValue) (*connection, error) {
	v = unsecret(v)
	if !v.IsObject() {
		return nil, errors.New("the resource has no connection")
	}
	o := v.ObjectValue()
	number := func(key resource.PropertyKey) int {
		if n := unsecret(o[key]); n.IsNumber() {
			return int(n.NumberValue())
		}
		return int(connectionDefaults[key].NumberValue())
	}
	c := &connection{
		host: stringOf(o["host"]), user: stringOf(o["user"]), password: stringOf(o["password"]),
		privateKey: stringOf(o["privateKey"]), privateKeyPassword: stringOf(o["privateKeyPassword"]),
		agentSocketPath: stringOf(o["agentSocketPath"]), hostKey: stringOf(o["hostKey"]),
		port: number("port"), dialErrorLimit: number("dialErrorLimit"), perDialTimeout: number("perDialTimeout"),
	}
	if c.user == "" {
		c.user = "root"
	}
	if isSet(o, "proxy") {
		proxy, err := connectionOf(o["proxy"])
		if err != nil {
			return nil, err
		}
		c.proxy = proxy
	}
	return c, nil
}

func (c *connection) address() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }

// config is the SSH client configuration: a private key first, then the password, then an agent
// (agentSocketPath, or SSH_AUTH_SOCK). Without hostKey any host key is accepted, as upstream.
func (c *connection) config() (*ssh.ClientConfig, func(), error) {
	config := &ssh.ClientConfig{User: c.user, HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	closeAgent := func() {}
	if c.hostKey != "" {
		want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.hostKey))
		if err != nil {
			return nil, nil, fmt.Errorf("the hostKey of %s is not a public key in OpenSSH's one-line format: %w", c.address(), err)
		}
		config.HostKeyCallback = func(_ string, _ net.Addr, got ssh.PublicKey) error {
			if string(got.Marshal()) != string(want.Marshal()) {
				return &hostKeyMismatch{address: c.address(), want: ssh.FingerprintSHA256(want), got: ssh.FingerprintSHA256(got)}
			}
			return nil
		}
		// Ask for the pinned key's algorithm: a server with several host keys shows that one.
		config.HostKeyAlgorithms = []string{want.Type()}
		if want.Type() == ssh.KeyAlgoRSA {
			config.HostKeyAlgorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
	}
	if c.privateKey != "" {
		var signer ssh.Signer
		var err error
		if c.privateKeyPassword != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.privateKey), []byte(c.privateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.privateKey))
		}
		if err != nil {
			// The parser's errors never quote the key.
			return nil, nil, fmt.Errorf("the privateKey for %s@%s cannot be used: %w", c.user, c.address(), err)
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if c.password != "" {
		password := c.password
		config.Auth = append(config.Auth, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	socket := c.agentSocketPath
	if socket == "" {
		socket = os.Getenv("SSH_AUTH_SOCK")
	}
	if socket != "" {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot reach the SSH agent at %s: %w", socket, err)
		}
		closeAgent = func() { _ = conn.Close() }
		config.Auth = append(config.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return config, closeAgent, nil
}

type hostKeyMismatch struct{ address, want, got string }

func (e *hostKeyMismatch) Error() string {
	return fmt.Sprintf("the host key of %s is %s, but the connection's hostKey pins %s: not the expected host", e.address, e.got, e.want)
}

// dialOnce opens one SSH connection, through the proxy if there is one, each hop's TCP connect
// and handshake bounded by its perDialTimeout (0: no bound).
func (c *connection) dialOnce(ctx context.Context) (*ssh.Client, error) {
	config, closeAgent, err := c.config()
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	var conn net.Conn
	if c.proxy != nil {
		proxy, err := c.proxy.dialOnce(ctx)
		if err != nil {
			return nil, fmt.Errorf("through the proxy %s: %w", c.proxy.address(), err)
		}
		if conn, err = proxy.Dial("tcp", c.address()); err != nil {
			_ = proxy.Close()
			return nil, fmt.Errorf("the proxy %s cannot reach %s: %w", c.proxy.address(), c.address(), err)
		}
	} else {
		dialer := net.Dialer{Timeout: time.Duration(c.perDialTimeout) * time.Second}
		if conn, err = dialer.DialContext(ctx, "tcp", c.address()); err != nil {
			return nil, err
		}
	}
	if c.perDialTimeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(time.Duration(c.perDialTimeout) * time.Second))
	}
	clientConn, channels, requests, err := ssh.NewClientConn(conn, c.address(), config)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(clientConn, channels, requests), nil
}

// dial retries while the host is not reachable yet (a server still booting), as upstream: up to
// dialErrorLimit failed dials (-1: no limit), with the engine's growing delay between them.
func (c *connection) dial(ctx context.Context) (*ssh.Client, error) {
	var client *ssh.Client
	var last error
	_, _, err := retry.Until(ctx, retry.Acceptor{
		Accept: func(try int, _ time.Duration) (bool, any, error) {
			client, last = c.dialOnce(ctx)
			if last == nil {
				return true, nil, nil
			}
			if c.dialErrorLimit >= 0 && try+1 > c.dialErrorLimit {
				return true, nil, last
			}
			return false, nil, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s@%s (after %d failed dials, dialErrorLimit %d): %w",
			c.user, c.address(), max(c.dialErrorLimit, 0)+1, c.dialErrorLimit, err)
	}
	if client == nil {
		return nil, fmt.Errorf("cannot connect to %s@%s: %v", c.user, c.address(), last)
	}
	return client, nil
}
