// The `local` stack's server image (scripts/server-image.sh), booted for real: systemd as PID 1,
// cloud-init applying user data from a NoCloud seed, sshd offering the seed's host key, real Salt
// 3008 where the onedir packages put it, and the program's own Salt master user data (less its
// Salt installation step, the one thing the image replaces) bringing salt-master up.
// Needs a Docker engine; without one the suite is skipped, loudly.
import * as assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { renderSaltMasterUserData, SaltInstall, SshHostKey } from "../lib/cloudInit";
import { saltRelease } from "../lib/salt";
import { dockerClient, skipWithoutDocker } from "../tools/docker";
import { sshKeygenEd25519 } from "../tools/offlineRun";
import { run } from "../tools/localRelease";
import { Booted, bootServer, inside, removeLabelled, serverImage } from "../tools/serverContainer";

// Every container of this run carries it: the cleanup removes exactly these, whatever failed.
const runLabel = `io.holodeck.test.server-image=${randomUUID()}`;

describe("the server image, booted with a NoCloud seed", function () {
    // The first build fetches and builds Salt's wheels and the image: minutes.
    this.timeout(1_200_000);
    let image: string;
    let scratch: string;

    const boot = (name: string, userData: string, metaData: Record<string, unknown>) =>
        bootServer({ image, label: runLabel, name: `holodeck-server-image-${name}-${process.pid}`, userData, metaData });

    /** The system booted, and none of the units a server depends on failed. */
    function assertBooted(booted: Booted): void {
        const context = `failed units:\n${booted.failed || "(none)"}\ncloud-init:\n${booted.cloudInit}`;
        assert.ok(["running", "degraded"].includes(booted.state), `system state ${booted.state}; ${context}`);
        const ours = booted.failed.split("\n").filter((line) => /^(cloud-|ssh|salt-|holodeck-|systemd-journald|dbus)/.test(line));
        assert.deepEqual(ours, [], context);
        assert.match(booted.cloudInit, /^status: done$/m, context);
        assert.match(booted.cloudInit, /DataSourceNoCloud \[seed=\/var\/lib\/cloud\/seed\/nocloud\]/, context);
    }

    /** sshd is active and offers exactly `key`, the one from the seed, to any client. */
    async function assertHostKey(container: string, key: SshHostKey): Promise<void> {
        assert.equal((await inside(container, "systemctl", "is-active", "ssh")).trim(), "active");
        const offered = (await inside(container, "ssh-keyscan", "-t", "rsa,ecdsa,ed25519", "127.0.0.1")).trim().split("\n");
        const [type, base64] = key.publicKeyOpenssh.trim().split(" ");
        assert.deepEqual(offered, [`127.0.0.1 ${type} ${base64}`]);
        assert.deepEqual((await inside(container, "sh", "-c", "ls /etc/ssh/ssh_host_*")).trim().split("\n"),
            ["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key.pub"]);
    }

    before(async function () {
        skipWithoutDocker(this, "the server image tests");
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-server-image-"));
        image = await serverImage();
    });

    after(async function () {
        // Skipped (no Docker engine): nothing was made.
        if (!scratch) return;
        fs.rmSync(scratch, { recursive: true, force: true });
        removeLabelled(runLabel);
    });

    it("boots systemd, applies write_files, runcmd and ssh_keys, and carries Salt 3008 with its units", async function () {
        const key = sshKeygenEd25519();
        const userData = `#cloud-config\n${stringify({
            write_files: [{ path: "/etc/holodeck-test/written", content: "written by cloud-init\n", owner: "root:root", permissions: "0640" }],
            runcmd: ["set -e", "install -d /var/lib/holodeck-test", "salt-call --local --out txt test.ping > /var/lib/holodeck-test/ping"],
            ssh_deletekeys: true,
            ssh_genkeytypes: ["ed25519"],
            ssh_keys: { ed25519_private: key.privateKeyOpenssh, ed25519_public: key.publicKeyOpenssh.trim() },
        }, { version: "1.1", lineWidth: 0 })}`;
        const admin = sshKeygenEd25519();
        // The admin key reaches the image's default user as a Nova key pair's does: through the metadata.
        const { container, ...booted } = await boot("plain", userData, {
            "instance-id": `plain-${randomUUID()}`, "public-keys": [admin.publicKeyOpenssh.trim()],
        });
        assertBooted({ container, ...booted });
        // The seed holds private keys: no other user of the server reads it.
        assert.equal(await inside(container, "stat", "-c", "%a %U", "/var/lib/cloud/seed/nocloud", "/var/lib/cloud/seed/nocloud/user-data"), "700 root\n600 root\n");

        assert.equal(await inside(container, "stat", "-c", "%a %U:%G", "/etc/holodeck-test/written"), "640 root:root\n");
        assert.equal(await inside(container, "cat", "/etc/holodeck-test/written"), "written by cloud-init\n");
        // runcmd ran, as root, with Salt on its PATH.
        assert.equal(await inside(container, "cat", "/var/lib/holodeck-test/ping"), "local: True\n");

        assert.match(await inside(container, "salt-call", "--version"), /^salt-call 3008\.\d+ /);
        assert.deepEqual(JSON.parse(await inside(container, "salt-call", "--local", "--out", "json", "test.ping")), { local: true });
        // Where the onedir packages put them, so the user data's and the states' paths hold.
        for (const command of ["salt-call", "salt-key", "salt-master", "salt-minion"]) {
            assert.equal((await inside(container, "readlink", "-f", `/usr/bin/${command}`)).trim(), `/opt/saltstack/salt/bin/${command}`);
        }
        // Known to systemd, and left for the user data to enable once its config is written.
        const units = await inside(container, "systemctl", "show", "--property", "Id,LoadState,UnitFileState", "salt-master", "salt-minion");
        assert.equal(units, "Id=salt-master.service\nLoadState=loaded\nUnitFileState=disabled\n\nId=salt-minion.service\nLoadState=loaded\nUnitFileState=disabled\n");
        assert.match(await inside(container, "getent", "passwd", "salt"), /^salt:x:\d+:\d+:Salt:\/opt\/saltstack\/salt:\/usr\/sbin\/nologin$/m);

        await assertHostKey(container, key);
        // The admin's way in, as the program's connections go: user debian with the admin key,
        // the host key pinned, sudo without a password.
        const adminDir = fs.mkdtempSync(path.join(scratch, "admin-login-"));
        fs.writeFileSync(path.join(adminDir, "admin"), admin.privateKeyOpenssh, { mode: 0o600 });
        fs.writeFileSync(path.join(adminDir, "known_hosts"), `127.0.0.1 ${key.publicKeyOpenssh}`);
        run(dockerClient, ["cp", adminDir, `${container}:/root/admin`]);
        const login = await inside(container, "ssh", "-i", "/root/admin/admin", "-o", "UserKnownHostsFile=/root/admin/known_hosts",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "debian@127.0.0.1", "sudo", "-n", "id", "-un");
        assert.equal(login, "root\n");
    });

    it("brings salt-master up from the program's master user data for preinstalled Salt", async function () {
        const key = sshKeygenEd25519();
        const masterKey = path.join(fs.mkdtempSync(path.join(scratch, "master-")), "master.pem");
        run("openssl", ["genrsa", "-traditional", "-out", masterKey, "2048"]);
        const masterPublicKeyPem = run("openssl", ["rsa", "-in", masterKey, "-pubout"]);
        const master = (saltInstall: SaltInstall) => renderSaltMasterUserData({
            saltInstall,
            // Only the container itself talks to it here.
            interfaceAddress: "127.0.0.1",
            masterPrivateKeyPem: fs.readFileSync(masterKey, "utf8"),
            masterPublicKeyPem,
            sshHostKey: key,
        });
        type Document = { write_files: { path: string }[]; runcmd: string[] };
        const read = (text: string) => parse(text.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as Document;
        const rendered = master("preinstalled");
        // What the image replaces, and nothing else: the Salt repository's files, and runcmd from
        // the keyring directory to `apt-get install salt-master`.
        const [fromImage, fromRepository] = [read(rendered), read(master("repository"))];
        const repositoryFiles: string[] = [saltRelease.sourcesFile, saltRelease.pinFile];
        assert.deepEqual(fromImage.write_files, fromRepository.write_files.filter((file) => !repositoryFiles.includes(file.path)));
        const installStep = fromRepository.runcmd.filter((line) => !fromImage.runcmd.includes(line));
        assert.deepEqual(fromImage.runcmd, fromRepository.runcmd.filter((line) => !installStep.includes(line)));
        assert.equal(installStep.length, 7, installStep.join("\n"));
        assert.ok(installStep.every((line) => /keyring|archive-key|apt-get|salt-archive|gpg/.test(line)), installStep.join("\n"));

        const { container, ...booted } = await boot("master", rendered, {
            "instance-id": `master-${randomUUID()}`,
        });
        assertBooted({ container, ...booted });

        assert.equal((await inside(container, "systemctl", "is-active", "salt-master")).trim(), "active");
        // Written by cloud-init as root before salt-master started, the master made the key its
        // user's. Salt 3008 also renames it after the master's id and leaves master.pem/.pub as
        // symlinks: the public key's text, which minions fingerprint, is still the program's.
        assert.equal(await inside(container, "stat", "-L", "-c", "%U %a", "/etc/salt/pki/master/master.pem"), "salt 400\n");
        assert.equal(await inside(container, "cat", "/etc/salt/pki/master/master.pub"), masterPublicKeyPem);
        const mainPid = (await inside(container, "systemctl", "show", "--property", "MainPID", "--value", "salt-master")).trim();
        assert.equal(await inside(container, "stat", "-c", "%U", `/proc/${mainPid}`), "salt\n");
        assert.equal(await inside(container, "stat", "-c", "%U:%G %a", "/srv/salt", "/srv/pillar"), "salt:salt 750\nsalt:salt 750\n");
        // The metadata guard loaded (it needs NET_ADMIN).
        assert.match(await inside(container, "nft", "list", "table", "inet", "holodeck_metadata_guard"), /meta skuid != 0 reject/);
        await assertHostKey(container, key);
    });
});
