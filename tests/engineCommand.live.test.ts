// Holodeck's own command plugin under the real engine: local and remote commands and CopyToRemote
// (tests/fixtures/command-program) against a real OpenSSH server: Debian's sshd, run as `sshd -i`
// once per connection behind a listener on port 0, with its own host key and authorized key.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../lib/paths";
import { previewSteps, Workspace } from "./realEngine";

const fixture = path.join(repoRoot, "tests", "fixtures", "command-program");
const sshd = "/usr/sbin/sshd";

/** A real OpenSSH server for one test: keys and config in `dir`, one `sshd -i` per connection. */
class OpenSsh {
    private constructor(readonly dir: string, readonly server: net.Server, readonly port: number, readonly hostKey: string, readonly clientKey: string) {}

    static async start(): Promise<OpenSsh> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-sshd-"));
        const keygen = (file: string) => {
            const made = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, file)], { encoding: "utf8" });
            assert.equal(made.status, 0, made.stderr);
        };
        keygen("host_key");
        keygen("client_key");
        fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
        const user = os.userInfo().username;
        fs.writeFileSync(path.join(dir, "sshd_config"), [
            `HostKey ${dir}/host_key`,
            `AuthorizedKeysFile ${dir}/authorized_keys`,
            `AllowUsers ${user}`,
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            // The temp dir's modes are not sshd's business here.
            "StrictModes no",
            "PidFile none",
            "LogLevel ERROR",
            "Subsystem sftp internal-sftp",
            // sshd sets only the variables AcceptEnv names: delete and update read the last stdout.
            "AcceptEnv PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR",
            "",
        ].join("\n"));
        // sshd -i refuses to start without its privilege separation directory.
        fs.mkdirSync("/run/sshd", { recursive: true });
        const server = net.createServer((socket) => {
            const child = spawn(sshd, ["-i", "-f", path.join(dir, "sshd_config")], { stdio: ["pipe", "pipe", "inherit"] });
            socket.pipe(child.stdin);
            child.stdout.pipe(socket);
            socket.on("error", () => child.kill());
            child.stdin.on("error", () => socket.destroy());
            child.on("exit", () => socket.end());
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as net.AddressInfo).port;
        const hostKey = fs.readFileSync(path.join(dir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
        return new OpenSsh(dir, server, port, hostKey, fs.readFileSync(path.join(dir, "client_key"), "utf8"));
    }

    async stop(): Promise<void> {
        await new Promise((resolve) => this.server.close(resolve));
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

describe("the command plugin under the real engine, against a real OpenSSH server", function () {
    this.timeout(600_000);
    let workspace: Workspace;
    let ssh: OpenSsh;
    let marks: string;

    before(function () {
        if (!fs.existsSync(sshd)) throw new Error(`no ${sshd}: apt-get install openssh-server (scripts/setup.sh installs it)`);
    });
    beforeEach(async () => {
        workspace = new Workspace();
        ssh = await OpenSsh.start();
        marks = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-marks-"));
    });
    afterEach(async () => {
        workspace.remove();
        await ssh.stop();
        fs.rmSync(marks, { recursive: true, force: true });
    });

    it("runs, updates in place, replaces on a trigger and destroys, over SSH, and never shows the private key", async () => {
        const copySource = path.join(marks, "source.txt");
        fs.writeFileSync(copySource, "copied through SFTP\n");
        const config = (update: string, trigger: string) => ({
            "fixture:marks": marks,
            "fixture:port": String(ssh.port),
            "fixture:user": os.userInfo().username,
            "fixture:privateKeyFile": path.join(ssh.dir, "client_key"),
            "fixture:hostKey": ssh.hostKey,
            "fixture:copySource": copySource,
            "fixture:update": update,
            "fixture:trigger": trigger,
        });
        const project = await workspace.project("command-program", fixture, { test: config("update v1", "t1") });
        const outputs: string[] = [];
        const run = async (...args: string[]) => {
            const done = await workspace.pulumi(project, ...args);
            outputs.push(done.stdout, done.stderr);
            assert.equal(done.status, 0, `pulumi ${args.join(" ")}:\n${done.stdout}${done.stderr}`);
            return done.stdout;
        };
        const up = () => run("up", "--yes", "--skip-preview", "-s", "test");
        const preview = async () => {
            const json = await run("preview", "--json", "-s", "test");
            const { changeSummary } = JSON.parse(json) as { changeSummary: Record<string, number> };
            return { summary: changeSummary, ops: Object.fromEntries(previewSteps(json).map((step) => [step.resource, step.op])) };
        };
        const log = () => fs.readFileSync(path.join(marks, "log"), "utf8").trim().split("\n");

        await up();
        assert.deepEqual(log(), ["create t1"]);
        assert.equal(fs.readFileSync(path.join(marks, "copied.txt"), "utf8"), "copied through SFTP\n");
        assert.equal(fs.readFileSync(path.join(marks, "local-ran"), "utf8"), `local in ${marks}\n`);
        const stackOutputs = JSON.parse(await run("stack", "output", "--json", "-s", "test")) as Record<string, string>;
        assert.equal(stackOutputs.remoteStdout, "instance t1");
        assert.equal(stackOutputs.localStdout, `local in ${marks}`);

        // Nothing changed: the preview counts only sames (the stack and the three resources),
        // and an up runs nothing on the host.
        const unchanged = await preview();
        assert.deepEqual(unchanged.summary, { same: 4 });
        assert.deepEqual(unchanged.ops, {});
        await up();
        assert.deepEqual(log(), ["create t1"]);

        // A changed `update` updates in place: update runs, with the previous stdout.
        workspace.configure(project, "test", config("update v2", "t1"));
        const updating = await preview();
        assert.deepEqual(updating.ops, { "command:remote:Command::remote": "update" });
        await up();
        assert.deepEqual(log(), ["create t1", "update v2 after instance t1"]);

        // A changed trigger replaces: the new command is created, then the old one deleted (the
        // engine's create-before-delete), its delete seeing its own stdout.
        workspace.configure(project, "test", config("update v2", "t2"));
        const replacing = await preview();
        assert.equal(replacing.ops["command:remote:Command::remote"], "replace", JSON.stringify(replacing));
        await up();
        assert.deepEqual(log(), ["create t1", "update v2 after instance t1", "create t2", "delete instance t1"]);

        // The state holds the connection as a secret: the key is not in the export.
        const exported = await run("stack", "export", "-s", "test");
        assert.match(exported, /"connection": \{\s*"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext"/);

        await run("destroy", "--yes", "--skip-preview", "-s", "test");
        assert.deepEqual(log(), ["create t1", "update v2 after instance t1", "create t2", "delete instance t1", "delete instance t2"]);

        const keyBody = ssh.clientKey.split("\n").filter((line) => line && !line.startsWith("-----"));
        assert.ok(keyBody.length > 1);
        const everything = outputs.join("\n");
        for (const line of keyBody) assert.ok(!everything.includes(line), "a line of the private key appears in the CLI's output");
        assert.ok(!exported.includes(keyBody[1]), "the private key is in the stack export");
    });
});
