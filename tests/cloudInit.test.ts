// The user-data documents: validated by the real `cloud-init schema`, read back as cloud-init and
// Salt read them (YAML 1.1, and PyYAML itself), their runcmd scripts checked by shellcheck, and the
// Salt repository key check run against real OpenPGP keys.
import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import {
    AppServerUserDataArgs,
    defaultBuildPackages,
    dockerBuildxInstall,
    metadataGuardRules,
    metadataGuardUnit,
    novaUserDataLimit,
    renderAppServerUserData,
    renderBuildMinionUserData,
    renderSaltMasterUserData,
    saltMasterDropInPath,
    SaltMasterUserDataArgs,
    SshHostKey,
} from "../lib/cloudInit";
import { run } from "../tools/localRelease";
import { masterFinger, saltRelease } from "../lib/salt";
import { sshKeygenEd25519 as sshHostKey } from "../tools/offlineRun";

interface WriteFile {
    path: string;
    content: string;
    owner: string;
    permissions: string;
    defer?: boolean;
}

interface CloudConfig {
    ssh_deletekeys?: boolean;
    ssh_genkeytypes?: string[];
    ssh_keys?: Record<string, string>;
    package_update?: boolean;
    packages?: string[];
    write_files?: WriteFile[];
    runcmd?: string[];
}

interface KeyPair {
    privateKeyPem: string;
    publicKeyPem: string;
}

// The formats @pulumi/tls gives an RSA key: PKCS#1 private, SPKI public.
function rsaKeyPair(): KeyPair {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    return {
        privateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    };
}

function parseYaml11(text: string): unknown {
    return parse(text, { version: "1.1" });
}

function cloudConfig(text: string): CloudConfig {
    assert.ok(text.startsWith("#cloud-config\n"), text.slice(0, 40));
    return parseYaml11(text) as CloudConfig;
}

// cloud-init reads user-data with PyYAML's safe_load.
function pyYaml(text: string): unknown {
    const script = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)";
    const result = spawnSync("/usr/bin/python3", ["-c", script], { input: text, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout);
}

function fileAt(config: CloudConfig, filePath: string): WriteFile {
    const found = (config.write_files ?? []).filter((file) => file.path === filePath);
    assert.equal(found.length, 1, `one write_files entry for ${filePath}`);
    return found[0];
}

// What cloud-init's runcmd module makes of string entries: one sh script.
function runcmdScript(config: CloudConfig): string {
    return ["#!/bin/sh", ...(config.runcmd ?? [])].join("\n") + "\n";
}

function indexOfCommand(commands: string[], pattern: RegExp): number {
    const index = commands.findIndex((command) => pattern.test(command));
    assert.ok(index >= 0, `no runcmd entry matches ${pattern}`);
    return index;
}

describe("cloud-init user-data", function () {
    let scratch: string;
    let masterKeys: KeyPair;
    let minionKeys: KeyPair;
    let hostKey: SshHostKey;
    let masterArgs: SaltMasterUserDataArgs;
    let appArgs: AppServerUserDataArgs;
    let documents: Record<string, string>;

    before(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-cloudinit-"));
        masterKeys = rsaKeyPair();
        minionKeys = rsaKeyPair();
        hostKey = sshHostKey();
        masterArgs = {
            interfaceAddress: "10.0.0.5",
            masterPrivateKeyPem: masterKeys.privateKeyPem,
            masterPublicKeyPem: masterKeys.publicKeyPem,
            sshHostKey: hostKey,
        };
        appArgs = {
            masterAddress: "10.0.0.5",
            minionId: "holodeck-hello-test-3f7868a1b2c4-0",
            minionPrivateKeyPem: minionKeys.privateKeyPem,
            minionPublicKeyPem: minionKeys.publicKeyPem,
            masterPublicKeyPem: masterKeys.publicKeyPem,
            masterFinger: masterFinger(masterKeys.publicKeyPem),
            grains: { stack: "test", app: "holodeck-hello", release: "1.0.0+git20260102.f86fa00", role: "app" },
        };
        documents = {
            "salt-master": renderSaltMasterUserData(masterArgs),
            "app-server": renderAppServerUserData(appArgs),
            "build-minion": renderBuildMinionUserData({ sshHostKey: hostKey }),
            "docker-build-minion": renderBuildMinionUserData({ docker: true, sshHostKey: hostKey }),
        };
    });
    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    const hostKeyConfig = () => ({
        ssh_deletekeys: true, ssh_genkeytypes: ["ed25519"], ssh_keys: { ed25519_private: hostKey.privateKeyOpenssh, ed25519_public: hostKey.publicKeyOpenssh.trim() },
    });

    describe("cloud-init schema", () => {
        for (const name of ["salt-master", "app-server", "build-minion", "docker-build-minion"]) {
            it(`finds the ${name} document valid`, () => {
                const file = path.join(scratch, `${name}.yaml`);
                fs.writeFileSync(file, documents[name]);
                const result = spawnSync("/usr/bin/cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
                assert.equal(result.status, 0, result.stdout + result.stderr);
                assert.match(result.stdout, /Valid cloud-config/);
            });
        }
    });

    describe("the Salt master", () => {
        it("writes its key pair byte for byte, the private key readable by its owner only", () => {
            const config = cloudConfig(documents["salt-master"]);
            const pem = fileAt(config, "/etc/salt/pki/master/master.pem");
            const pub = fileAt(config, "/etc/salt/pki/master/master.pub");
            assert.equal(pem.content, masterKeys.privateKeyPem);
            assert.equal(pub.content, masterKeys.publicKeyPem);
            assert.deepEqual([pem.permissions, pem.owner, pem.defer], ["0400", "root:root", undefined]);
            assert.deepEqual([pub.permissions, pub.owner, pub.defer], ["0644", "root:root", undefined]);
        });

        it("is configured to accept no key by itself, bind to its private address, and take no files", () => {
            const config = cloudConfig(documents["salt-master"]);
            const conf = fileAt(config, "/etc/salt/master.d/holodeck.conf");
            assert.equal(conf.defer, undefined);
            assert.deepEqual(parseYaml11(conf.content), {
                interface: "10.0.0.5",
                user: "salt",
                auto_accept: false,
                open_mode: false,
                publisher_acl: {},
                file_recv: false,
                file_roots: { base: ["/srv/salt"] },
                pillar_roots: { base: ["/srv/pillar"] },
            });
        });

        it("installs salt-master, then makes the state and pillar directories for user salt, then starts it", () => {
            const runcmd = cloudConfig(documents["salt-master"]).runcmd ?? [];
            const install = indexOfCommand(runcmd, /apt-get install -y salt-master$/);
            const dirs = indexOfCommand(runcmd, /^install -d -o salt -g salt -m 0750 \/srv\/salt \/srv\/pillar$/);
            const start = indexOfCommand(runcmd, /^systemctl enable --now salt-master$/);
            assert.ok(install < dirs && dirs < start, runcmd.join("\n"));
        });

        it("takes other roots, quoted for the shell", () => {
            const text = renderSaltMasterUserData({ ...masterArgs, fileRoots: ["/srv/salt", "/srv/formulas"], pillarRoots: ["/srv/my pillar"] });
            const config = cloudConfig(text);
            const conf = parseYaml11(fileAt(config, "/etc/salt/master.d/holodeck.conf").content) as Record<string, unknown>;
            assert.deepEqual(conf.file_roots, { base: ["/srv/salt", "/srv/formulas"] });
            assert.deepEqual(conf.pillar_roots, { base: ["/srv/my pillar"] });
            assert.ok(config.runcmd?.includes("install -d -o salt -g salt -m 0750 /srv/salt /srv/formulas '/srv/my pillar'"), config.runcmd?.join("\n"));
        });

        it("refuses an address that is not one private IPv4 address, and relative or no roots", () => {
            for (const interfaceAddress of ["0.0.0.0", "", "salt.example.com", "fd00::5", "10.0.0.5 "]) {
                assert.throws(() => renderSaltMasterUserData({ ...masterArgs, interfaceAddress }), /interfaceAddress/, interfaceAddress);
            }
            assert.throws(() => renderSaltMasterUserData({ ...masterArgs, fileRoots: ["srv/salt"] }), /fileRoots must be absolute/);
            assert.throws(() => renderSaltMasterUserData({ ...masterArgs, pillarRoots: [] }), /pillarRoots must be absolute/);
        });
    });

    describe("an app server", () => {
        it("writes its key pair and the master's public key byte for byte, the private key owner-only", () => {
            const config = cloudConfig(documents["app-server"]);
            const pem = fileAt(config, "/etc/salt/pki/minion/minion.pem");
            const pub = fileAt(config, "/etc/salt/pki/minion/minion.pub");
            const masterPub = fileAt(config, "/etc/salt/pki/minion/minion_master.pub");
            assert.equal(pem.content, minionKeys.privateKeyPem);
            assert.equal(pub.content, minionKeys.publicKeyPem);
            assert.equal(masterPub.content, masterKeys.publicKeyPem);
            assert.deepEqual([pem.permissions, pem.owner, pem.defer], ["0400", "root:root", undefined]);
            for (const file of [pub, masterPub]) assert.deepEqual([file.permissions, file.defer], ["0644", undefined]);
        });

        it("pins the master's fingerprint and carries its id and grains", () => {
            const config = cloudConfig(documents["app-server"]);
            const conf = fileAt(config, "/etc/salt/minion.d/holodeck.conf");
            assert.deepEqual(parseYaml11(conf.content), {
                master: "10.0.0.5",
                id: "holodeck-hello-test-3f7868a1b2c4-0",
                master_finger: masterFinger(masterKeys.publicKeyPem),
                grains: { app: "holodeck-hello", release: "1.0.0+git20260102.f86fa00", role: "app", stack: "test" },
            });
            assert.equal(fileAt(config, "/etc/salt/minion_id").content, "holodeck-hello-test-3f7868a1b2c4-0\n");
        });

        it("runs one state.apply as its last step, retried a bounded number of times", () => {
            const runcmd = cloudConfig(documents["app-server"]).runcmd ?? [];
            const last = runcmd[runcmd.length - 1];
            assert.match(last, /^attempt=1; until salt-call --retcode-passthrough state\.apply; do \[ "\$attempt" -lt \d+ \] \|\| exit 1; /);
            assert.equal(runcmd.filter((command) => command.includes("state.apply")).length, 1);
            const enable = indexOfCommand(runcmd, /^systemctl enable --now salt-minion$/);
            assert.ok(indexOfCommand(runcmd, /apt-get install -y salt-minion$/) < enable && enable < runcmd.length - 1);
        });

        it("gives the same document whatever the order of the grains", () => {
            const reordered = Object.fromEntries(Object.entries(appArgs.grains).reverse());
            assert.equal(renderAppServerUserData({ ...appArgs, grains: reordered }), documents["app-server"]);
        });

        it("keeps grain values strings for YAML 1.1 readers, PyYAML included", () => {
            const grains = { flag: "yes", switch: "on", date: "2026-01-02", count: "1_000", clock: "12:30", version: "1.10", empty: "", n: "n" };
            const config = cloudConfig(renderAppServerUserData({ ...appArgs, grains }));
            const conf = fileAt(config, "/etc/salt/minion.d/holodeck.conf").content;
            assert.deepEqual((parseYaml11(conf) as { grains: unknown }).grains, grains);
            assert.deepEqual((pyYaml(conf) as { grains: unknown }).grains, grains);
        });

        it("refuses a fingerprint of another key, and an id unfit for a file name on the master", () => {
            const other = masterFinger(minionKeys.publicKeyPem);
            assert.throws(() => renderAppServerUserData({ ...appArgs, masterFinger: other }), /masterFinger is not the fingerprint/);
            for (const minionId of ["", "../master", "..", "a b", "-x", "app/1", "app\\1"]) {
                assert.throws(() => renderAppServerUserData({ ...appArgs, minionId }), /minionId/, minionId);
            }
            // Debian package names, which app names are, may hold "+" and ".".
            assert.doesNotThrow(() => renderAppServerUserData({ ...appArgs, minionId: "libfoo+bar-test-3f7868a1b2c4-0" }));
        });
    });

    describe("keys as cloud-init reads them", () => {
        it("come out of PyYAML byte for byte, even with CRLF or no final newline", () => {
            const crlf = masterKeys.privateKeyPem.replace(/\n/g, "\r\n");
            const bare = minionKeys.privateKeyPem.trimEnd();
            const text = renderAppServerUserData({ ...appArgs, minionPrivateKeyPem: crlf, minionPublicKeyPem: bare });
            const config = pyYaml(text) as CloudConfig;
            assert.equal(fileAt(config, "/etc/salt/pki/minion/minion.pem").content, crlf);
            assert.equal(fileAt(config, "/etc/salt/pki/minion/minion.pub").content, bare);
            assert.equal(fileAt(config, "/etc/salt/pki/minion/minion_master.pub").content, masterKeys.publicKeyPem);
        });

        it("are never world-readable when private", () => {
            for (const name of ["salt-master", "app-server"]) {
                for (const file of cloudConfig(documents[name]).write_files ?? []) {
                    if (/\.pem$/.test(file.path)) assert.equal(Number.parseInt(file.permissions, 8) & 0o077, 0, file.path);
                    if (/PRIVATE KEY/.test(file.content)) assert.match(file.path, /\.pem$/);
                }
            }
        });
    });

    describe("Salt from its repository", () => {
        for (const [name, saltPackage] of [["salt-master", "salt-master"], ["app-server", "salt-minion"]]) {
            it(`${name}: trusts the checked key, then updates, then installs ${saltPackage}; runcmd stops at the first failure`, () => {
                const config = cloudConfig(documents[name]);
                assert.deepEqual(config.packages, ["ca-certificates", "curl", "gpg", "nftables"]);
                assert.equal(config.package_update, true);
                const runcmd = config.runcmd ?? [];
                assert.equal(runcmd[0], "set -e");
                const fetch = indexOfCommand(runcmd, /^curl -fsSL .* https:\/\/packages\.broadcom\.com\/artifactory\/api\/security\/keypair\/SaltProjectKey\/public$/);
                const check = indexOfCommand(runcmd, new RegExp(`gpg --batch --show-keys .*= ${saltRelease.keyFingerprint} `));
                const keyring = indexOfCommand(runcmd, new RegExp(`^gpg --batch --yes --dearmor -o ${saltRelease.keyring} `));
                const update = indexOfCommand(runcmd, /^apt-get update$/);
                const install = indexOfCommand(runcmd, /apt-get install/);
                assert.ok(fetch < check && check < keyring && keyring < update && update < install, runcmd.join("\n"));
                assert.equal(runcmd[install], `DEBIAN_FRONTEND=noninteractive apt-get install -y ${saltPackage}`);
            });

            it(`${name}: writes the apt source and pin after packages: and before runcmd`, () => {
                const config = cloudConfig(documents[name]);
                const source = fileAt(config, saltRelease.sourcesFile);
                const pin = fileAt(config, saltRelease.pinFile);
                assert.equal(source.content, [
                    "Types: deb",
                    "URIs: https://packages.broadcom.com/artifactory/saltproject-deb",
                    "Suites: stable",
                    "Components: main",
                    `Signed-By: ${saltRelease.keyring}`,
                    "",
                ].join("\n"));
                assert.equal(pin.content, "Package: salt-*\nPin: version 3008.*\nPin-Priority: 1001\n");
                for (const file of [source, pin]) assert.deepEqual([file.defer, file.permissions], [true, "0644"]);
                // Every other file, the keys included, is written in the init stage, before any package:
                // the master's systemd drop-in too, so the unit the package starts already has it.
                const early = (config.write_files ?? []).filter((file) => !file.defer).map((file) => file.path);
                const guard = ["/etc/holodeck/metadata-guard.nft", "/etc/systemd/system/holodeck-metadata-guard.service"];
                const own = name === "salt-master" ? [...guard, saltMasterDropInPath] : guard;
                assert.ok(early.every((file) => file.startsWith("/etc/salt/") || own.includes(file)), early.join(" "));
                assert.equal(early.includes(saltMasterDropInPath), name === "salt-master");
            });

            it(`${name}: guards the metadata service (which serves the keys) before anything else runs`, () => {
                const config = cloudConfig(documents[name]);
                assert.deepEqual((config.runcmd ?? []).slice(0, 3), [
                    "set -e", "systemctl daemon-reload", "systemctl enable --now holodeck-metadata-guard.service",
                ]);
                assert.equal(fileAt(config, "/etc/holodeck/metadata-guard.nft").content, metadataGuardRules);
                assert.equal(fileAt(config, "/etc/systemd/system/holodeck-metadata-guard.service").content, metadataGuardUnit);
            });

            it(`${name}: its runcmd is a clean POSIX sh script`, () => {
                const script = path.join(scratch, `${name}-runcmd.sh`);
                fs.writeFileSync(script, runcmdScript(cloudConfig(documents[name])));
                run("shellcheck", ["--shell=sh", script]);
            });
        }

        it("relies on cloud-init's module order: packages, then deferred files, then runcmd", () => {
            const modules = parseYaml11(fs.readFileSync("/etc/cloud/cloud.cfg", "utf8")) as Record<string, string[]>;
            const final = modules.cloud_final_modules.map((module) => module.replace(/-/g, "_"));
            const packages = final.indexOf("package_update_upgrade_install");
            const deferred = final.indexOf("write_files_deferred");
            const scripts = final.indexOf("scripts_user");
            assert.ok(packages >= 0 && packages < deferred && deferred < scripts, final.join(" "));
            assert.ok(modules.cloud_init_modules.map((module) => module.replace(/-/g, "_")).includes("write_files"));
        });

        it("pins another major version when asked, and refuses one that is not", () => {
            const config = cloudConfig(renderSaltMasterUserData({ ...masterArgs, saltMajor: "3006" }));
            assert.equal(fileAt(config, saltRelease.pinFile).content, "Package: salt-*\nPin: version 3006.*\nPin-Priority: 1001\n");
            for (const saltMajor of ["3008.1", "latest", "*", ""]) {
                assert.throws(() => renderAppServerUserData({ ...appArgs, saltMajor }), /saltMajor/, saltMajor);
            }
        });

        describe("the repository key check, run with real OpenPGP keys", () => {
            let gnupgHome: string;
            let pinned: string;
            let other: string;
            let pinnedFingerprint: string;

            function generateKey(name: string): string {
                const env = { ...process.env, GNUPGHOME: gnupgHome };
                // A primary key with a subkey, as the Salt key has: only the primary's fingerprint counts.
                const userId = `${name} <${name}@holodeck.invalid>`;
                run("gpg", ["--batch", "--passphrase", "", "--quick-gen-key", userId, "future-default", "default", "never"], { env });
                const file = path.join(scratch, `${name}.asc`);
                fs.writeFileSync(file, run("gpg", ["--batch", "--armor", "--export", `${name}@holodeck.invalid`], { env }));
                return file;
            }

            // The rendered check with the downloaded key at `keyFile` and `fingerprint` pinned.
            function runCheck(keyFile: string, fingerprint: string = saltRelease.keyFingerprint): ReturnType<typeof spawnSync> {
                const runcmd = cloudConfig(documents["app-server"]).runcmd ?? [];
                const command = runcmd[indexOfCommand(runcmd, /gpg --batch --show-keys/)]
                    .split("/run/salt-archive-key").join(keyFile)
                    .split(saltRelease.keyFingerprint).join(fingerprint);
                return spawnSync("sh", ["-c", command], { encoding: "utf8", env: { ...process.env, GNUPGHOME: gnupgHome } });
            }

            before(() => {
                gnupgHome = fs.mkdtempSync(path.join(scratch, "gnupg-"));
                pinned = generateKey("pinned");
                other = generateKey("other");
                const colons = run("gpg", ["--batch", "--with-colons", "--fingerprint", "pinned@holodeck.invalid"], { env: { ...process.env, GNUPGHOME: gnupgHome } });
                pinnedFingerprint = colons.split("\n").find((line) => line.startsWith("fpr:"))?.split(":")[9] ?? "";
                assert.match(pinnedFingerprint, /^[0-9A-F]{40}$/);
            });
            // The agent gpg started for key generation serves this home only.
            after(() => run("gpgconf", ["--kill", "gpg-agent"], { env: { ...process.env, GNUPGHOME: gnupgHome } }));

            it("accepts the pinned key, armored or binary", () => {
                assert.equal(runCheck(pinned, pinnedFingerprint).status, 0);
                const binary = path.join(scratch, "pinned.gpg");
                run("gpg", ["--batch", "--yes", "--dearmor", "-o", binary, pinned], { env: { ...process.env, GNUPGHOME: gnupgHome } });
                assert.equal(runCheck(binary, pinnedFingerprint).status, 0);
            });

            it("refuses another key, the pinned key bundled with another, and the real pin for a test key", () => {
                const bundle = path.join(scratch, "bundle.asc");
                fs.writeFileSync(bundle, fs.readFileSync(pinned, "utf8") + fs.readFileSync(other, "utf8"));
                for (const [keyFile, fingerprint] of [[other, pinnedFingerprint], [bundle, pinnedFingerprint], [pinned, saltRelease.keyFingerprint]]) {
                    const result = runCheck(keyFile, fingerprint);
                    assert.equal(result.status, 1, `${keyFile} ${fingerprint}`);
                    assert.match(String(result.stderr), /Salt repository key is not/);
                }
            });
        });
    });

    describe("the SSH host key of the master and the build minion", () => {
        const longLived = ["salt-master", "build-minion", "docker-build-minion"];

        for (const name of longLived) {
            it(`${name}: installs the given ED25519 key byte for byte, deletes the image's keys and generates no other`, () => {
                const config = pyYaml(documents[name]) as CloudConfig;
                assert.deepEqual({ deleteKeys: config.ssh_deletekeys, genKeyTypes: config.ssh_genkeytypes, keys: config.ssh_keys }, {
                    deleteKeys: true, genKeyTypes: ["ed25519"],
                    keys: { ed25519_private: hostKey.privateKeyOpenssh, ed25519_public: hostKey.publicKeyOpenssh.trim() },
                });
            });
        }

        it("leaves the app servers' host keys to cloud-init: nothing connects to them over SSH", () => {
            const config = cloudConfig(documents["app-server"]);
            assert.deepEqual([config.ssh_keys, config.ssh_deletekeys, config.ssh_genkeytypes], [undefined, undefined, undefined]);
        });

        // Real cloud-init's ssh module, with /etc/ssh on a tmpfs in a private mount namespace (the
        // image's own keys made there first): what sshd will offer is the pinned key and nothing else.
        for (const name of ["salt-master", "build-minion"]) {
            it(`${name}: cloud-init's ssh module leaves exactly the pinned key in /etc/ssh, and publishes only it`, () => {
                const file = path.join(scratch, `${name}-ssh.yaml`);
                fs.writeFileSync(file, documents[name]);
                const script = [
                    "import json, logging, os, subprocess, sys, yaml",
                    "from unittest import mock",
                    "from cloudinit.config import cc_ssh",
                    "cloud = mock.MagicMock()",
                    "cloud.get_public_ssh_keys.return_value = []",
                    "with mock.patch.object(cc_ssh, 'apply_credentials'):",
                    "    cc_ssh.handle('ssh', yaml.safe_load(open(sys.argv[1])), cloud, logging.getLogger(), [])",
                    "key = '/etc/ssh/ssh_host_ed25519_key'",
                    "print(json.dumps({",
                    "    'published': [list(k) for k in cloud.datasource.publish_host_keys.call_args[0][0]],",
                    "    'files': sorted(os.listdir('/etc/ssh')),",
                    "    'mode': oct(os.stat(key).st_mode & 0o777),",
                    "    'private': open(key).read(),",
                    "    'public': open(key + '.pub').read(),",
                    "    'derived': subprocess.run(['ssh-keygen', '-y', '-f', key], capture_output=True, text=True, check=True).stdout,",
                    "}))",
                ].join("\n");
                // The image's own keys, of every type, are there before cloud-init runs.
                const shell = [
                    "set -eu",
                    "mount -t tmpfs holodeck-servers-ssh /etc/ssh",
                    "for type in rsa ecdsa ed25519; do ssh-keygen -q -t $type -N '' -f /etc/ssh/ssh_host_${type}_key; done",
                    '/usr/bin/python3 -c "$1" "$2"',
                ].join("\n");
                const result = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", shell, "sh", script, file], { encoding: "utf8" });
                assert.equal(result.status, 0, result.stderr);
                const found = JSON.parse(result.stdout) as { published: string[][]; files: string[]; mode: string; private: string; public: string; derived: string };
                const [type, blob] = hostKey.publicKeyOpenssh.trim().split(" ");
                assert.deepEqual(found.files, ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"], "the image's keys are gone, no other type is made");
                assert.equal(found.private, hostKey.privateKeyOpenssh);
                assert.equal(found.mode, "0o600");
                assert.equal(found.public, hostKey.publicKeyOpenssh.trim());
                assert.equal(found.derived.trim().split(" ").slice(0, 2).join(" "), `${type} ${blob}`, "OpenSSH reads the private key as the pinned one");
                assert.deepEqual(found.published, [[type, blob]], "the datasource is told of the pinned key only");
            });
        }

        it("refuses a key that is not an OpenSSH ED25519 pair", () => {
            const rsa = rsaKeyPair();
            assert.throws(() => renderBuildMinionUserData({ sshHostKey: { privateKeyOpenssh: rsa.privateKeyPem, publicKeyOpenssh: hostKey.publicKeyOpenssh } }),
                /sshHostKey.privateKeyOpenssh must be an OpenSSH private key/);
            assert.throws(() => renderSaltMasterUserData({ ...masterArgs, sshHostKey: { ...hostKey, publicKeyOpenssh: "ssh-rsa AAAAB3NzaC1yc2E= x" } }),
                /sshHostKey.publicKeyOpenssh must be one ssh-ed25519 public key line/);
        });
    });

    describe("the build minion", () => {
        it("installs HoloMaker's packages from the distribution and nothing else", () => {
            assert.deepEqual(cloudConfig(documents["build-minion"]), { ...hostKeyConfig(), package_update: true, packages: [...defaultBuildPackages] });
            assert.deepEqual(defaultBuildPackages, [
                "git", "python3", "python3-venv", "python3-pip", "python3-pip-whl", "python3-setuptools-whl", "python3-wheel-whl", "dpkg-dev",
                "util-linux", "curl", "ca-certificates",
            ]);
        });

        it("adds the distribution's Docker engine, and buildx where it is a package of its own, to build images", () => {
            assert.deepEqual(cloudConfig(documents["docker-build-minion"]), {
                ...hostKeyConfig(), package_update: true, packages: [...defaultBuildPackages, "docker.io"], runcmd: [dockerBuildxInstall],
            });
        });

        it("installs docker-buildx only where the distribution has it", () => {
            const withPackage = spawnSync("bash", ["-c", dockerBuildxInstall.replace(/apt-cache show/, "true").replace(/apt-get install -y/, "echo would install")], { encoding: "utf8" });
            assert.equal(withPackage.stdout.trim(), "would install docker-buildx");
            // Debian 12 (this machine) has no docker-buildx package: nothing to do, and no failure.
            const here = spawnSync("bash", ["-c", dockerBuildxInstall.replace(/apt-get install -y/, "echo would install")], { encoding: "utf8" });
            assert.deepEqual([here.status, here.stdout], [0, ""]);
        });

        it("takes another package list", () => {
            assert.deepEqual(cloudConfig(renderBuildMinionUserData({ packages: ["git", "python3"], sshHostKey: hostKey })).packages, ["git", "python3"]);
        });
    });

    describe("size and stability", () => {
        it("keeps every document within Nova's user-data limit, with room to spare", () => {
            for (const [name, text] of Object.entries(documents)) {
                const encoded = Buffer.from(text).toString("base64").length;
                assert.ok(encoded <= novaUserDataLimit / 4, `${name}: ${encoded} bytes base64-encoded`);
            }
        });

        it("refuses to render a document Nova would refuse", () => {
            const grains = { ...appArgs.grains, notes: "x".repeat(50_000) };
            assert.throws(() => renderAppServerUserData({ ...appArgs, grains }), /bytes once base64-encoded, Nova takes at most 65535/);
        });

        it("renders the same text from the same inputs", () => {
            assert.equal(renderSaltMasterUserData({ ...masterArgs }), documents["salt-master"]);
            assert.equal(renderAppServerUserData({ ...appArgs, grains: { ...appArgs.grains } }), documents["app-server"]);
            assert.equal(renderBuildMinionUserData({ sshHostKey: { ...hostKey } }), documents["build-minion"]);
        });
    });
});
