// The master's systemd drop-in: in its user data, and valid to systemd-analyze on a real unit.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { renderSaltMasterUserData, saltMasterDropIn, saltMasterDropInPath } from "../lib/cloudInit";
import { sshKeygenEd25519 as sshHostKey } from "../tools/offlineRun";

describe("the Salt master's unit drop-in", () => {
    it("is written by the master's user data, root-owned, 0644", () => {
        const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const userData = renderSaltMasterUserData({
            interfaceAddress: "10.0.0.5",
            masterPrivateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
            masterPublicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
            sshHostKey: sshHostKey(),
        });
        const files = (parse(userData) as { write_files: { path: string; content: string; permissions: string; owner: string }[] }).write_files;
        const dropIn = files.find((file) => file.path === saltMasterDropInPath);
        assert.deepEqual(dropIn, { path: saltMasterDropInPath, content: saltMasterDropIn, owner: "root:root", permissions: "0644" });
    });

    it("orders the master after network-online.target and restarts it on failure, as systemd reads it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-unit-"));
        try {
            // A stand-in for the package's unit, with the drop-in beside it as systemd finds it.
            fs.writeFileSync(path.join(dir, "salt-master.service"), "[Unit]\nDescription=salt-master\n\n[Service]\nExecStart=/bin/true\n");
            fs.mkdirSync(path.join(dir, "salt-master.service.d"));
            fs.writeFileSync(path.join(dir, "salt-master.service.d", "holodeck.conf"), saltMasterDropIn);
            const verify = spawnSync("systemd-analyze", ["verify", path.join(dir, "salt-master.service")], { encoding: "utf8", env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` } });
            assert.equal(verify.status, 0, verify.stderr);
            // systemd-analyze reads the drop-in and names it beside any directive it rejects.
            assert.doesNotMatch(verify.stderr, /holodeck\.conf/);
            assert.match(saltMasterDropIn, /^After=network-online\.target$/m);
            assert.match(saltMasterDropIn, /^Wants=network-online\.target$/m);
            assert.match(saltMasterDropIn, /^Restart=on-failure$/m);
            assert.match(saltMasterDropIn, /^RestartSec=\d+s$/m);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
