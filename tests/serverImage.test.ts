// The `local` stack's server image (scripts/server-image.sh), booted for real: systemd as PID 1,
// cloud-init applying user data from a NoCloud seed, sshd offering the seed's host key, real Salt
// 3008 where the onedir packages put it, and the program's own Salt master user data (less its
// Salt installation step, the one thing the image replaces) bringing salt-master up.
// Needs a Docker engine; without one the suite is skipped, loudly.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { renderSaltMasterUserData, SaltInstall, SshHostKey } from "../lib/cloudInit";
import { repoRoot } from "../lib/paths";
import { saltRelease } from "../lib/salt";
import { dockerClient, dockerUnavailable } from "../tools/docker";
import { run, runAsync } from "../tools/localRelease";

// Every container of this run carries it: the cleanup removes exactly these, whatever failed.
const runLabel = `io.holodeck.test.server-image=${randomUUID()}`;

/** Builds the image (or finds it): the script's progress goes to this test's stderr; its last stdout line is the tag. */
function serverImage(): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", [path.join(repoRoot, "scripts", "server-image.sh")], { stdio: ["ignore", "pipe", "inherit"] });
        let stdout = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.on("error", reject);
        child.on("close", (status) => {
            const tag = stdout.trim().split("\n").pop() ?? "";
            if (status === 0 && /^holodeck\/server:[0-9a-f]{12}$/.test(tag)) resolve(tag);
            else reject(new Error(`scripts/server-image.sh failed (${status}): stdout ${JSON.stringify(stdout)}`));
        });
    });
}

/** A new ED25519 key pair in OpenSSH's formats, as the program's tls.PrivateKey gives it. */
function ed25519Key(dir: string): SshHostKey {
    const file = path.join(dir, "host_key");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "holodeck-test", "-f", file]);
    return { privateKeyOpenssh: fs.readFileSync(file, "utf8"), publicKeyOpenssh: fs.readFileSync(`${file}.pub`, "utf8") };
}

interface Booted {
    readonly container: string;
    /** `systemctl is-system-running` once the boot has finished. */
    readonly state: string;
    /** Units in the failed state, one per line. */
    readonly failed: string;
    /** `cloud-init status --long`. */
    readonly cloudInit: string;
}

describe("the server image, booted with a NoCloud seed", function () {
    // The first build fetches and builds Salt's wheels and the image: minutes.
    this.timeout(1_200_000);
    let image: string;
    let scratch: string;

    /** Runs a command in `container` and returns its stdout; throws with its output unless it exits 0. */
    async function inside(container: string, ...args: string[]): Promise<string> {
        const result = await runAsync(dockerClient, ["exec", container, ...args]);
        if (result.status !== 0) throw new Error(`${args.join(" ")} in ${container} failed (${result.status}):\n${result.stdout}${result.stderr}`);
        return result.stdout;
    }

    /**
     * Boots a container from the image as a server is booted: the seed copied in before start,
     * /sbin/init as PID 1, NET_ADMIN for the metadata guard's nftables. Resolves once systemd has
     * finished booting (cloud-final included) and cloud-init reports its end.
     */
    async function boot(name: string, userData: string, metaData: Record<string, unknown>): Promise<Booted> {
        // Private to root in the container too (docker cp keeps modes): it holds private keys.
        const seed = fs.mkdtempSync(path.join(scratch, "seed-"));
        fs.writeFileSync(path.join(seed, "user-data"), userData, { mode: 0o600 });
        fs.writeFileSync(path.join(seed, "meta-data"), stringify(metaData), { mode: 0o600 });
        const container = run(dockerClient, [
            "create", "--label", runLabel, "--name", `holodeck-server-image-${name}-${process.pid}`,
            "--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--cap-add", "NET_ADMIN", image,
        ]).trim();
        run(dockerClient, ["cp", seed, `${container}:/var/lib/cloud/seed/nocloud`]);
        run(dockerClient, ["start", container]);
        console.error(`server-image test: booting ${name} (${container.slice(0, 12)})`);
        // systemctl answers once PID 1 has made its private socket: until then it cannot connect.
        await inside(container, "timeout", "60", "sh", "-c", "until [ -S /run/systemd/private ]; do sleep 0.1; done");
        // Exits non-zero for "degraded": the state is what is asserted.
        const state = (await runAsync(dockerClient, ["exec", container, "systemctl", "is-system-running", "--wait"])).stdout.trim();
        const failed = await inside(container, "systemctl", "list-units", "--failed", "--plain", "--no-legend");
        const cloudInit = (await runAsync(dockerClient, ["exec", container, "cloud-init", "status", "--wait", "--long"])).stdout;
        console.error(`server-image test: ${name} is ${state}`);
        return { container, state, failed, cloudInit };
    }

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
        const unavailable = dockerUnavailable();
        if (unavailable) {
            const rule = "!".repeat(100);
            console.error(`\n${rule}\n!! SKIPPING the server image tests: ${unavailable}\n${rule}\n`);
            this.skip();
        }
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-server-image-"));
        image = await serverImage();
    });

    after(async function () {
        // Skipped (no Docker engine): nothing was made.
        if (!scratch) return;
        fs.rmSync(scratch, { recursive: true, force: true });
        const containers = run(dockerClient, ["ps", "--all", "--quiet", "--filter", `label=${runLabel}`]).trim();
        if (containers) run(dockerClient, ["rm", "--force", "--volumes", ...containers.split("\n")]);
    });

    it("boots systemd, applies write_files, runcmd and ssh_keys, and carries Salt 3008 with its units", async function () {
        const key = ed25519Key(fs.mkdtempSync(path.join(scratch, "key-")));
        const userData = `#cloud-config\n${stringify({
            write_files: [{ path: "/etc/holodeck-test/written", content: "written by cloud-init\n", owner: "root:root", permissions: "0640" }],
            runcmd: ["set -e", "install -d /var/lib/holodeck-test", "salt-call --local --out txt test.ping > /var/lib/holodeck-test/ping"],
            ssh_deletekeys: true,
            ssh_genkeytypes: ["ed25519"],
            ssh_keys: { ed25519_private: key.privateKeyOpenssh, ed25519_public: key.publicKeyOpenssh.trim() },
        }, { version: "1.1", lineWidth: 0 })}`;
        const admin = ed25519Key(fs.mkdtempSync(path.join(scratch, "admin-")));
        // The admin key reaches the image's default user as a Nova key pair's does: through the metadata.
        const { container, ...booted } = await boot("plain", userData, {
            "instance-id": `plain-${randomUUID()}`, "public-keys": [admin.publicKeyOpenssh.trim()],
        });
        assertBooted({ container, ...booted });

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
        const key = ed25519Key(fs.mkdtempSync(path.join(scratch, "key-")));
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
