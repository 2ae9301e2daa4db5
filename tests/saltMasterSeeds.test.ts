// The per-release things on the master (release pillar, pre-seeded minion keys): their create and
// delete scripts run for real with bash against a fake root, and salt-key from real Salt.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { minionKeyCreateScript, minionKeyDeleteScript, pillarCreateScript, pillarDeleteScript } from "../components/appServers";
import { recordServerIdScript } from "../components/managedServer";
import { releasePillarPath } from "../lib/salt";
import { saltVenv } from "../tools/saltRender";

/** Runs `script` with bash, `input` on its stdin as a pipe (an SSH session's stdin is one). */
function bash(script: string, input = ""): string {
    const result = spawnSync("bash", ["-c", `printf '%s' "$1" | bash -c "$2"`, "bash", input, script], { encoding: "utf8" });
    assert.equal(result.status, 0, `${script}\n${result.stdout}${result.stderr}`);
    return result.stdout;
}

/** Every path under `dir` whose name or content holds `text`. */
function traces(dir: string, text: string): string[] {
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
        .map((entry) => path.join(entry.parentPath, entry.name))
        .filter((file) => file.includes(text) || (fs.statSync(file).isFile() && fs.readFileSync(file).includes(text)));
}

describe("the master's per-release seeds", function () {
    this.timeout(60_000);
    let root: string;
    const minion = "holodeck-hello-test-0123456789ab-0";
    const pillarPath = releasePillarPath("holodeck-hello-test-0123456789ab");
    // As the master's ready command records it.
    const setServerId = (id: string) => bash(recordServerIdScript(id, root));
    beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-master-"))));
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("writes the pillar from stdin, and deletes it only on the master it was created on", () => {
        const options = { root, owner: "root" };
        bash(pillarCreateScript(pillarPath, options), "#!yaml\nholodeck: {}\n");
        assert.equal(fs.readFileSync(root + pillarPath, "utf8"), "#!yaml\nholodeck: {}\n");
        assert.equal(fs.statSync(root + pillarPath).mode & 0o777, 0o640);
        // The master was replaced: the old copy's delete reaches the new one, which keeps its copy.
        setServerId("new-server");
        assert.match(bash(pillarDeleteScript(pillarPath, "old-server", options)), /left alone/);
        assert.ok(fs.existsSync(root + pillarPath));
        setServerId("old-server");
        bash(pillarDeleteScript(pillarPath, "old-server", options));
        assert.equal(fs.existsSync(root + pillarPath), false);
    });

    it("seeds a minion's key (dropping what it offered before), and removes it with salt-key, its master data cache included, only on its own master", () => {
        const venv = saltVenv();
        const config = path.join(root, "etc", "salt");
        fs.mkdirSync(config, { recursive: true });
        fs.writeFileSync(path.join(config, "master"), stringify({ root_dir: root, user: os.userInfo().username }));
        const saltKey = `${venv}/bin/salt-key -c ${config}`;
        // The key directories salt-master makes when it starts.
        for (const dir of ["minions", "minions_pre", "minions_rejected", "minions_denied"]) fs.mkdirSync(path.join(root, "etc/salt/pki/master", dir), { recursive: true });
        const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
        // A new master: the booted minion offered its key before the program seeded it.
        fs.writeFileSync(path.join(root, "etc/salt/pki/master/minions_pre", minion), pem);
        assert.deepEqual(JSON.parse(bash(`${saltKey} -L --out json`)).minions_pre, [minion]);
        bash(minionKeyCreateScript(minion, pem, { root, owner: "root" }));
        assert.deepEqual(JSON.parse(bash(`${saltKey} -L --out json`)), { minions: [minion], minions_pre: [], minions_rejected: [], minions_denied: [] });
        // The master's minion data cache, as 3008's master writes it (salt/master.py, salt/pillar):
        // banks "grains" and "pillar", keyed by minion id (older releases used minions/<id>/data).
        const python = `import salt.cache, salt.config\nopts = salt.config.master_config(${JSON.stringify(path.join(config, "master"))})\n` +
            "cache = salt.cache.factory(opts)\n" +
            `cache.store("grains", "${minion}", {"role": "app"})\n` +
            `cache.store("pillar", "${minion}", {"holodeck": {"secrets": {"token": "s3cret"}}})\n`;
        bash(`${venv}/bin/python -`, python);
        assert.notDeepEqual(traces(path.join(root, "var", "cache"), minion), [], "the cache holds the minion's data");

        setServerId("new-server");
        assert.match(bash(minionKeyDeleteScript(minion, "old-server", { root, saltKey })), /left alone/);
        assert.match(bash(`${saltKey} -L --out json`), new RegExp(minion));
        setServerId("old-server");
        bash(minionKeyDeleteScript(minion, "old-server", { root, saltKey }));
        assert.deepEqual(traces(root, minion), []);
        assert.deepEqual(traces(root, "s3cret"), []);
    });
});
